"""Small helpers the runner's end-to-end tests share."""
from __future__ import annotations

from typing import Optional

from processes import http_json

TERMINAL = ("completed", "failed", "cancelled")


def finished(backend, job_id: str) -> Optional[dict]:
    job = backend.job(job_id)
    return job if job.get("status") in TERMINAL else None


def in_status(backend, job_ids, status: str) -> list:
    return [j for j in job_ids if backend.job(j).get("status") == status]


def queue_all(base: str) -> dict:
    return http_json("GET", base + "/queue/all")[1]


def history(base: str) -> dict:
    return http_json("GET", base + "/history")[1]


def loops_after(proc, extra: int):
    """A check that holds once the runner's loop has turned `extra` more times than now: it had that many
    chances to take more work, whatever the CPU load."""
    start = proc.healthz()["loops"]
    return lambda: proc.healthz()["loops"] >= start + extra
