"""When a run must stop: the first sync's deadline (--first-sync-deadline-seconds), or --stop-by, the SSM
document's own deadline (a few seconds before the agent kills the
command's process group, https://docs.aws.amazon.com/systems-manager/latest/userguide/documents-schemas-features.html
timeoutSeconds). A run that reaches it stops cleanly: status says why, s5cmd is killed, what was placed stays
recorded, and its request stays queued for the next run."""
from __future__ import annotations

import contextlib
import os
import signal
import time

from .outcome import EXIT_DEADLINE, SyncError


class DeadlineReached(SyncError):
    def __init__(self, message: str):
        super().__init__(message, EXIT_DEADLINE)


class Deadline:
    """final: this is the first sync's deadline, after which the node gives up (the model gate replaces it)."""

    def __init__(self, stop_by: float | None, why: str = "--stop-by", final: bool = False):
        self.stop_by, self.why, self.final = stop_by, why, final

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


FIRST_ATTEMPT = "first-attempt"


def first_sync_deadline(state_dir: str, seconds: float, ever_ready: bool) -> float | None:
    """When the node's first complete sync must be done by: `seconds` after the first attempt on this cache
    (model-sync/first-attempt, kept across restarts of the boot unit), or None once the node was ever ready."""
    if not seconds or ever_ready:
        return None
    path = os.path.join(state_dir, FIRST_ATTEMPT)
    try:
        with open(path, encoding="ascii") as f:
            return float(f.read().strip()) + seconds
    except (OSError, ValueError):
        pass
    now = time.time()
    with open(path + ".tmp", "w", encoding="ascii") as f:
        f.write("%.3f\n" % now)
    os.replace(path + ".tmp", path)
    return now + seconds


def run_deadline(stop_by: float | None, first_sync: float | None, first_sync_seconds: float) -> Deadline:
    """The earlier of the two, and why."""
    if first_sync is not None and (stop_by is None or first_sync <= stop_by):
        return Deadline(first_sync, "the first sync's deadline, --first-sync-deadline-seconds %g" % first_sync_seconds,
                        final=True)
    return Deadline(stop_by)
