"""JSON log lines on stdout: one object per event, so CloudWatch Logs Insights can filter on fields."""
from __future__ import annotations

import json
import sys
import time


def log(event: str, **fields) -> None:
    record = {"time": round(time.time(), 3), "event": event, **fields}
    sys.stdout.write(json.dumps(record, default=str) + "\n")
    sys.stdout.flush()
