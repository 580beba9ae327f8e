"""python3 -m job_runner (docs/jobs.md, "Runner")."""
import sys

from .main import main

sys.exit(main())
