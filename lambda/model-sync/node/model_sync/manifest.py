"""What this node placed: key -> {size, etag}, kept as the run goes.

manifest.json holds the state at the end of the last run; manifest.journal gets one line per file placed or
deleted since, written right after the rename or unlink. A run that is killed (SIGKILL, the SSM timeout, a
reboot) leaves its journal, so the next run knows every file it placed and downloads none of them again.
Placed first, journaled second: a kill between the two costs that one file a download, whereas the other order
could record a version that never reached the disk.
"""
from __future__ import annotations

import json
import os
import threading

from .cache import Cache

JOURNAL = "manifest.journal"
MANIFEST = "manifest.json"


class Manifest:
    def __init__(self, cache: Cache):
        self.cache = cache
        self.entries = dict(cache.read_json(MANIFEST, {}))
        self.journal_path = os.path.join(cache.state, JOURNAL)
        self._replay()
        self._journal = open(self.journal_path, "a", encoding="utf-8")
        self._lock = threading.Lock()  # downloads place files from several threads

    def _replay(self) -> None:
        try:
            with open(self.journal_path, encoding="utf-8") as f:
                for line in f:
                    try:
                        entry = json.loads(line)
                        key = entry["key"]
                    except (ValueError, KeyError, TypeError):
                        continue  # a line torn by a kill: that file is downloaded again
                    if entry.get("deleted"):
                        self.entries.pop(key, None)
                    else:
                        self.entries[key] = {"size": entry["size"], "etag": entry["etag"]}
        except FileNotFoundError:
            pass

    def _append(self, entry: dict) -> None:
        # One write of one line, flushed at once: a killed process loses nothing the kernel already has.
        with self._lock:
            self._journal.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self._journal.flush()

    def placed(self, key: str, size: int, etag: str) -> None:
        with self._lock:
            self.entries[key] = {"size": size, "etag": etag}
        self._append({"key": key, "size": size, "etag": etag})

    def deleted(self, key: str) -> None:
        with self._lock:
            self.entries.pop(key, None)
        self._append({"key": key, "deleted": True})

    def keep_only(self, keys) -> None:
        """Forgets entries whose files are gone (no journal line needed: the next save writes the result)."""
        with self._lock:
            self.entries = {k: v for k, v in self.entries.items() if k in keys}

    def save(self) -> None:
        """Writes manifest.json and empties the journal (replaying it again would change nothing)."""
        with self._lock:
            self.cache.write_json(MANIFEST, self.entries)
            self._journal.truncate(0)
            self._journal.seek(0)

    def close(self) -> None:
        self.save()
        self._journal.close()
