"""The one output format: every line starts with [model-sync] (comfyctl models status reads it)."""
from __future__ import annotations

from datetime import datetime, timezone

PREFIX = "[model-sync] "


# Where else each line goes (the boot sync's CloudWatch report): callables that take the line.
SINKS: list = []


def log(message: str) -> None:
    # stdout goes to the journal (systemd unit) or to CloudWatch (SSM command output).
    print(PREFIX + message, flush=True)
    for sink in SINKS:
        sink(PREFIX + message)


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024:
            return "%.1f %s" % (n, unit)
        n /= 1024.0
    return "%.1f TiB" % n


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
