"""When a run must stop: --stop-by, the SSM document's own deadline (a few seconds before the agent kills the
command's process group, https://docs.aws.amazon.com/systems-manager/latest/userguide/documents-schemas-features.html
timeoutSeconds). A run that reaches it stops cleanly: status says why, s5cmd is killed, what was placed stays
recorded, and its request stays queued for the next run."""
from __future__ import annotations

import contextlib
import signal
import time

from .outcome import EXIT_DEADLINE, SyncError


class DeadlineReached(SyncError):
    def __init__(self, message: str):
        super().__init__(message, EXIT_DEADLINE)


class Deadline:
    def __init__(self, stop_by: float | None, why: str = "--stop-by"):
        self.stop_by, self.why = stop_by, why

    def remaining(self) -> float:
        return float("inf") if self.stop_by is None else self.stop_by - time.time()

    def expired(self) -> bool:
        return self.remaining() <= 0

    def reached(self) -> DeadlineReached:
        return DeadlineReached("stopped at its deadline (%s, %s)" % (
            self.why, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.stop_by or 0))))

    @contextlib.contextmanager
    def armed(self):
        """Raises DeadlineReached in the main thread when the deadline comes (SIGALRM), wherever it is."""
        if self.stop_by is None:
            yield
            return
        if self.expired():
            raise self.reached()

        def alarm(_signum, _frame):
            raise self.reached()
        previous = signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, max(self.remaining(), 0.001))
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
