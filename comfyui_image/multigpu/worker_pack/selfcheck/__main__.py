"""python -m multigpu.worker_pack.selfcheck --comfyui DIR (see __init__.py)."""
import sys

from .report import main

if __name__ == "__main__":
    sys.exit(main())
