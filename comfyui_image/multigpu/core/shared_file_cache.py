"""A process-wide cache of loaded files: read once, shared by every GPU worker.

Four workers asking for the same checkpoint at once must read the disk once (single-flight) and
then share the result. The cache is bounded by bytes; only entries nobody is using are evicted,
least recently used first. Entries in use may push the total over the bound: they cannot be
dropped, and refusing to load would fail the prompt.

Releasing an entry never blocks: `release` may run inside a garbage-collector finalizer on a
thread that already holds the cache lock, so it only queues the release; queued releases are
applied at the next `acquire` (when memory is about to grow) or by `release` itself when the lock
is free. Pure Python: the loader and the size function come from the caller.
"""
from __future__ import annotations

import collections
import threading
from typing import Any, Callable, Deque, Dict, Hashable, Optional

SizeOf = Callable[[Hashable, Any], int]


class _Entry:
    __slots__ = ("ready", "value", "error", "size", "users")

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.value: Any = None
        self.error: Optional[BaseException] = None
        self.size = 0
        self.users = 0


class SharedFileCache:
    def __init__(self, max_bytes: int, size_of: SizeOf):
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = max_bytes
        self._size_of = size_of
        self._lock = threading.Lock()
        self._entries: "collections.OrderedDict[Hashable, _Entry]" = collections.OrderedDict()
        self._pending_releases: Deque[Hashable] = collections.deque()
        self._bytes = 0
        self.loads = 0
        self.hits = 0

    def acquire(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """The value for `key`, loading it with `load` unless cached or being loaded.

        Every successful call must be matched by one `release(key)`.
        """
        with self._lock:
            self._apply_pending_releases()
            entry = self._entries.get(key)
            leader = entry is None
            if leader:
                entry = self._entries[key] = _Entry()
            else:
                self._entries.move_to_end(key)
                self.hits += 1
            entry.users += 1
        if leader:
            return self._load_as_leader(key, entry, load)
        entry.ready.wait()
        if entry.error is not None:
            with self._lock:
                entry.users -= 1
            raise entry.error
        return entry.value

    def release(self, key: Hashable) -> None:
        """Mark one use of `key` finished. Safe from any thread, including GC finalizers."""
        self._pending_releases.append(key)
        if self._lock.acquire(blocking=False):
            try:
                self._apply_pending_releases()
                self._evict_unused()
            finally:
                self._lock.release()

    def _load_as_leader(self, key: Hashable, entry: _Entry, load: Callable[[], Any]) -> Any:
        try:
            value = load()
            size = int(self._size_of(key, value))
        except BaseException as error:
            with self._lock:
                entry.error = error
                entry.users -= 1
                # Forget the failure so the next call tries again (the file may be fixed).
                if self._entries.get(key) is entry:
                    del self._entries[key]
            entry.ready.set()
            raise
        with self._lock:
            entry.value, entry.size = value, size
            self._bytes += size
            self.loads += 1
            self._evict_unused()
        entry.ready.set()
        return value

    def _apply_pending_releases(self) -> None:
        while self._pending_releases:
            key = self._pending_releases.popleft()
            entry = self._entries.get(key)
            if entry is not None and entry.users > 0:
                entry.users -= 1

    def _evict_unused(self) -> None:
        if self._bytes <= self.max_bytes:
            return
        for key in list(self._entries):  # oldest first
            if self._bytes <= self.max_bytes:
                break
            entry = self._entries[key]
            if entry.users == 0 and entry.ready.is_set():
                del self._entries[key]
                self._bytes -= entry.size

    # ---- observation (tests, logs) -----------------------------------------------------------
    @property
    def total_bytes(self) -> int:
        return self._bytes

    def keys(self) -> list:
        with self._lock:
            return list(self._entries)

    def users(self, key: Hashable) -> int:
        with self._lock:
            self._apply_pending_releases()
            entry = self._entries.get(key)
            return 0 if entry is None else entry.users

    def stats(self) -> Dict[str, int]:
        with self._lock:
            return {"entries": len(self._entries), "bytes": self._bytes,
                    "loads": self.loads, "hits": self.hits, "max_bytes": self.max_bytes}
