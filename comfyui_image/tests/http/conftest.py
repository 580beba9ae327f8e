import os
import sys

# The core tests' fake executor serves the HTTP tests too.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "core"))
