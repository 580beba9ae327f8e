"""One run at a time per node: an exclusive flock on model-sync/lock."""
from __future__ import annotations

import fcntl
import os
import time

from .cache import Cache
from .log import log
from .outcome import EXIT_LOCKED, SyncError


def acquire_lock(cache: Cache, timeout: float):
    handle = open(os.path.join(cache.state, "lock"), "a+")
    deadline = time.monotonic() + timeout
    announced = False
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            if not announced:
                log("another sync is running on this node; waiting up to %d s for it to finish" % timeout)
                announced = True
            if time.monotonic() > deadline:
                raise SyncError("another sync held the lock for more than %d s" % timeout, EXIT_LOCKED)
            time.sleep(0.2)
