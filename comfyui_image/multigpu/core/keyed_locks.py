"""Locks by key that an owner (a GPU) holds until it says it is done with everything it took.

Used for output file names: ComfyUI's `folder_paths.get_save_image_path` picks the next free
counter by scanning the folder, and the node writes the files later. Two workers saving with the
same prefix at once would pick the same counter; holding the (folder, prefix) lock from the lookup
until the node has finished makes the scan-then-write atomic without changing file names.

The owner is the GPU, not the thread: a node may save from a helper thread (bound to its worker's
GPU) while the release happens on the worker thread at the next node boundary, and a thread's lock
could only be released by that thread. Only held keys are kept, so unique prefixes (a timestamp
per prompt) do not make the map grow.
"""
from __future__ import annotations

import threading
from typing import Dict, Hashable, List


class KeyedLocks:
    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._owner_of: Dict[Hashable, Hashable] = {}
        self._held: Dict[Hashable, List[Hashable]] = {}

    def acquire(self, key: Hashable, owner: Hashable) -> None:
        """Wait until no other owner holds `key`, then hold it for `owner` (re-entrant)."""
        with self._cond:
            while not self._take(key, owner):
                self._cond.wait()

    def try_acquire(self, key: Hashable, owner: Hashable) -> bool:
        """Hold `key` for `owner` if no other owner holds it; never waits (for callers that wait
        their own way, such as an event loop)."""
        with self._cond:
            return self._take(key, owner)

    def _take(self, key: Hashable, owner: Hashable) -> bool:
        current = self._owner_of.get(key)
        if current is None:
            self._owner_of[key] = owner
            self._held.setdefault(owner, []).append(key)
        return current is None or current == owner

    def release_held(self, owner: Hashable) -> int:
        """Release every key `owner` holds, whichever thread took it; returns how many."""
        with self._cond:
            keys = self._held.pop(owner, [])
            for key in keys:
                del self._owner_of[key]
            if keys:
                self._cond.notify_all()
            return len(keys)

    def held_count(self, owner: Hashable) -> int:
        with self._cond:
            return len(self._held.get(owner, ()))

    def keys_held(self) -> int:
        """Keys held by anyone: the whole size of the map."""
        with self._cond:
            return len(self._owner_of)
