"""Locks by key that a thread holds until it says it is done with everything it took.

Used for output file names: ComfyUI's `folder_paths.get_save_image_path` picks the next free
counter by scanning the folder, and the node writes the files later. Two workers saving with the
same prefix at once would pick the same counter; holding the (folder, prefix) lock from the lookup
until the node has finished makes the scan-then-write atomic without changing file names.
"""
from __future__ import annotations

import threading
from typing import Dict, Hashable, List


class KeyedLocks:
    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: Dict[Hashable, threading.RLock] = {}
        self._held = threading.local()

    def _held_list(self) -> List[threading.RLock]:
        held = getattr(self._held, "locks", None)
        if held is None:
            held = self._held.locks = []
        return held

    def acquire(self, key: Hashable) -> None:
        """Take the lock for `key` (re-entrant for this thread) and remember it as held."""
        with self._guard:
            lock = self._locks.setdefault(key, threading.RLock())
        held = self._held_list()
        if lock in held:
            return
        lock.acquire()
        held.append(lock)

    def release_held(self) -> int:
        """Release every lock this thread took; returns how many."""
        held = self._held_list()
        count = len(held)
        while held:
            held.pop().release()
        return count

    def held_count(self) -> int:
        return len(self._held_list())
