"""The tools are scripts run from tools/ (`python tools/iam_lint.py`): import them the same way."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
