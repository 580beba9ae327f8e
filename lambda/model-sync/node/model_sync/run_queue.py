"""Runs take turns, and no request is dropped: each run files what it asks for (its keys, or a full sync) in
model-sync/queue/, and whoever holds the lock (an exclusive flock on model-sync/lock) syncs every request it
finds there before it lets go, then looks once more after letting go. A run that finds the lock taken waits for
its answer; if it must leave first (its lock timeout or its SSM deadline), its request stays filed, and the
holder or the next run syncs it. So a change notified while a long sync runs is applied after that sync's
listing, not lost to it.

A request is answered only after a listing that began after it was filed, so it sees the change that caused it.
"""
from __future__ import annotations

import fcntl
import json
import os
import time

from .cache import Cache

QUEUE = "queue"
# Answers nobody collected (their run left at its deadline) are removed after this.
ANSWER_KEEP_SECONDS = 86400.0


class RunQueue:
    def __init__(self, cache: Cache):
        self.cache = cache
        self.dir = os.path.join(cache.state, QUEUE)
        os.makedirs(self.dir, exist_ok=True)
        self._lock = open(os.path.join(cache.state, "lock"), "a+")
        self.locked = False

    def submit(self, scope: set | None) -> str:
        """Files a request (scope None: a full sync) and returns its name."""
        name = "%020d-%d" % (time.time_ns(), os.getpid())
        self._write(name + ".json", {"keys": None if scope is None else sorted(scope)})
        return name

    def pending(self) -> list:
        """[(name, scope)] of every filed request not yet answered, oldest first."""
        found = []
        for entry in sorted(os.listdir(self.dir)):
            if not entry.endswith(".json"):
                continue
            try:
                with open(os.path.join(self.dir, entry), encoding="utf-8") as f:
                    keys = json.load(f)["keys"]
            except FileNotFoundError:
                continue  # answered meanwhile by a run that held the lock before us
            except (OSError, ValueError, KeyError, TypeError):
                keys = None  # unreadable: a full sync covers whatever it asked for
            found.append((entry[:-len(".json")], None if keys is None else set(keys)))
        return found

    def answer(self, names, exit_code: int, summary: str) -> None:
        """Records how the requests ended for the runs that wait on them, and takes them off the queue."""
        for name in names:
            self._write(name + ".answer", {"exit_code": exit_code, "summary": summary})
            try:
                os.remove(os.path.join(self.dir, name + ".json"))
            except FileNotFoundError:
                pass

    def collect(self, name: str) -> dict | None:
        """The answer to a request once some run gave it (and then removes it), else None."""
        path = os.path.join(self.dir, name + ".answer")
        try:
            with open(path, encoding="utf-8") as f:
                found = json.load(f)
        except (OSError, ValueError):
            return None
        os.remove(path)
        return found

    def forget_old_answers(self) -> None:
        for entry in os.listdir(self.dir):
            path = os.path.join(self.dir, entry)
            try:
                if entry.endswith(".answer") and time.time() - os.path.getmtime(path) > ANSWER_KEEP_SECONDS:
                    os.remove(path)
            except OSError:
                pass

    def try_lock(self) -> bool:
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self.locked = True
        return True

    def unlock(self) -> None:
        if self.locked:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self.locked = False

    def close(self) -> None:
        self.unlock()
        self._lock.close()

    def _write(self, name: str, value) -> None:
        path = os.path.join(self.dir, name)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(value, f)
        os.replace(path + ".tmp", path)


def merged_scope(requests: list) -> set | None:
    """One pass for many requests: a full sync if any asks for one, else every key they name."""
    keys = set()
    for _name, scope in requests:
        if scope is None:
            return None
        keys |= scope
    return keys
