import os
import sys

# The simulator's process helpers (tests/e2e) serve the front's tests too.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
