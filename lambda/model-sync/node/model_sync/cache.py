"""The node's cache: models/ (what ComfyUI reads) and model-sync/ (manifest, status, `ready`, lock, staging)."""
from __future__ import annotations

import json
import os
import shutil
import time

from .log import now_iso
from .outcome import EXIT_USAGE, SyncError


def boot_time() -> float:
    """When this boot began (btime in /proc/stat, seconds since the epoch)."""
    with open("/proc/stat", encoding="ascii") as f:
        for line in f:
            if line.startswith("btime "):
                return float(line.split()[1])
    raise ValueError("no btime in /proc/stat")


class Cache:
    def __init__(self, data_dir: str):
        self.models = os.path.join(data_dir, "models")
        self.state = os.path.join(data_dir, "model-sync")
        self.staging_root = os.path.join(self.state, "staging")
        for path in (self.models, self.staging_root):
            os.makedirs(path, exist_ok=True)
        if os.stat(self.models).st_dev != os.stat(self.staging_root).st_dev:
            raise SyncError("%s and %s are on different filesystems; renames would not be atomic"
                            % (self.models, self.staging_root), EXIT_USAGE)

    def path_of(self, key: str) -> str:
        return os.path.join(self.models, *key.split("/"))

    def place(self, staged: str, key: str) -> None:
        """Renames a complete download into place, after checking that the place is below models/.

        model_key_problem already refused keys with '..' or empty segments; the check here holds even if a
        folder below models/ were a symlink (this script never makes one).
        """
        final = self.path_of(key)
        os.makedirs(os.path.dirname(final), exist_ok=True)
        models = os.path.realpath(self.models)
        parent = os.path.realpath(os.path.dirname(final))
        if not (parent + os.sep).startswith(models + os.sep) or parent == models:
            raise SyncError("%r would land outside %s (in %s); not placed" % (key, self.models, parent))
        os.replace(staged, os.path.join(parent, os.path.basename(final)))

    def local_files(self, folders: frozenset) -> set:
        found = set()
        for folder in folders:
            top = os.path.join(self.models, folder)
            for root, _dirs, files in os.walk(top):
                rel = os.path.relpath(root, self.models).replace(os.sep, "/")
                found.update(rel + "/" + name for name in files)
        return found

    def read_json(self, name: str, default):
        try:
            with open(os.path.join(self.state, name), encoding="utf-8") as f:
                return json.load(f)
        except (OSError, ValueError):
            return default

    def write_atomically(self, name: str, text: str) -> None:
        """Readers (pods, operators, the next run) see the old file or the new one, never a torn one."""
        final = os.path.join(self.state, name)
        with open(final + ".tmp", "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(final + ".tmp", final)

    def write_json(self, name: str, value) -> None:
        self.write_atomically(name, json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False))

    def mark_ready(self) -> None:
        self.write_atomically("ready", now_iso() + "\n")

    def withdraw_stale_ready(self) -> bool:
        """Removes a `ready` marker written before this boot: while the node was down, changes went unnoticed
        (SSM cannot reach a node that is down), so its models are not known current until this boot's first
        full sync. ComfyUI's readiness probe reads the marker. True when one was withdrawn."""
        path = os.path.join(self.state, "ready")
        try:
            if os.path.getmtime(path) >= boot_time():
                return False
            os.remove(path)
        except (OSError, ValueError):
            return False
        return True

    def new_staging_dir(self) -> str:
        # Leftovers of killed runs go first; a per-run name means a straggling child of a killed run can
        # never have its file renamed into place by this run.
        for name in os.listdir(self.staging_root):
            shutil.rmtree(os.path.join(self.staging_root, name), ignore_errors=True)
        path = os.path.join(self.staging_root, "run-%d-%d" % (os.getpid(), int(time.time())))
        os.makedirs(path)
        return path

    def remove_model(self, key: str) -> None:
        path = self.path_of(key)
        try:
            os.remove(path)
        except FileNotFoundError:
            return
        parent = os.path.dirname(path)
        # Drop emptied sub-folders, never the model folder itself nor models/.
        while os.path.dirname(parent) != self.models and parent.startswith(self.models + os.sep):
            try:
                os.rmdir(parent)
            except OSError:
                break
            parent = os.path.dirname(parent)
