"""status.json: where this node's sync stands, written as a run goes. The model gate logs it, operators read it.

state is `running` (with the run's pid and its progress) from the moment a run holds the lock, then `ok` or
`failed`. Only a run that holds the lock writes `running`, so a later run that finds `running` knows that run
was killed before it could say how it ended (SIGKILL, the SSM timeout, a reboot), and says so; the model gate
tells the same from outside, by finding the lock free (manifests/base/pod-scripts/model_gate.py).
"""
from __future__ import annotations

import os
import socket
import threading
import time

from .cache import Cache
from .log import log, now_iso

STATUS = "status.json"
MAX_ERRORS_IN_STATUS = 20
# How often progress reaches status.json at most (each write is a small fsync'd file).
PROGRESS_WRITE_SECONDS = 1.0


class RunStatus:
    def __init__(self, cache: Cache):
        self.cache = cache
        self.fields = cache.read_json(STATUS, {})
        self._lock = threading.Lock()
        self._written_at = 0.0
        self._started = time.monotonic()

    def begin(self, bucket: str, mode: str) -> None:
        """The run holds the lock from here on."""
        if self.fields.get("state") == "running":
            log("the previous run (pid %s, %s sync since %s) was killed before it finished; what it placed stays "
                "placed" % (self.fields.get("pid"), self.fields.get("mode"), self.fields.get("last_attempt")))
            self.fields["previous_run"] = {"state": "killed", "pid": self.fields.get("pid"),
                                           "started": self.fields.get("last_attempt")}
        self._started = time.monotonic()
        self.update(bucket=bucket, host=socket.gethostname(), last_attempt=now_iso(), mode=mode, state="running",
                    pid=os.getpid(), progress={})
        self.write()

    def progress(self, **numbers) -> None:
        """Records the run's progress; written at most every PROGRESS_WRITE_SECONDS, the first time at once."""
        with self._lock:
            first = not self.fields.get("progress")
            self.fields["progress"] = numbers
            due = first or time.monotonic() - self._written_at >= PROGRESS_WRITE_SECONDS
        if due:
            self.write()

    def update(self, **fields) -> None:
        with self._lock:  # the progress reporter writes from its own thread
            self.fields.update(fields)

    def succeeded(self, **numbers) -> None:
        self.update(state="ok", last_success=now_iso(), errors=[], **numbers)
        with self._lock:
            self.fields.pop("gave_up", None)

    def ready(self) -> None:
        """A full sync completed: the node was ready once (first_ready stays, whatever comes later)."""
        self.update(first_ready=self.fields.get("first_ready") or now_iso())

    def give_up(self, reason: str) -> None:
        """The first sync failed for good (its deadline passed, or a failure no retry heals): the model gate
        reports it and replaces the node. Written at once."""
        self.update(state="failed", gave_up=True, errors=[reason])
        self.write()

    def failed(self, reasons: list, **numbers) -> None:
        self.update(state="failed", errors=reasons[:MAX_ERRORS_IN_STATUS], **numbers)

    def end(self) -> None:
        """Writes how the run ended; `running` never survives a run that could still write."""
        with self._lock:
            if self.fields.get("state") == "running":
                self.fields["state"] = "failed"
            self.fields.pop("pid", None)
            self.fields["duration_seconds"] = round(time.monotonic() - self._started, 3)
        self.write()

    def write(self) -> None:
        with self._lock:
            self.cache.write_json(STATUS, self.fields)
            self._written_at = time.monotonic()
