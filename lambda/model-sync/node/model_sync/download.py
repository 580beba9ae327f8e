"""Downloads of one run: into a per-run staging folder, each renamed into place when complete."""
from __future__ import annotations

import json
import os
import shutil
import threading
import time

from .cache import Cache
from .fetch import fetch_presigned
from .log import human_bytes, log
from .outcome import SyncError
from .plan import split_downloads
from .s5cmd import S5cmd, copy_commands

PROGRESS_EVERY_SECONDS = 5.0


class Progress:
    def __init__(self, total_files: int, total_bytes: int, staging: str):
        self.total_files, self.total_bytes, self.staging = total_files, total_bytes, staging
        self.done_files, self.done_bytes = 0, 0
        self.started = time.monotonic()
        self.stop = threading.Event()

    def in_flight_bytes(self) -> int:
        total = 0
        for root, _dirs, files in os.walk(self.staging):
            for name in files:
                if name == "commands.txt":
                    continue
                try:
                    total += os.path.getsize(os.path.join(root, name))
                except OSError:
                    pass
        return total

    def report(self) -> None:
        moved = self.done_bytes + self.in_flight_bytes()
        elapsed = max(time.monotonic() - self.started, 1e-6)
        log("progress: %d/%d files, %s of %s, %s/s" % (
            self.done_files, self.total_files, human_bytes(moved), human_bytes(self.total_bytes),
            human_bytes(moved / elapsed)))

    def run(self) -> None:
        while not self.stop.wait(PROGRESS_EVERY_SECONDS):
            self.report()


def download(s5: S5cmd, cache: Cache, bucket: str, keys: list, remote: dict, manifest: dict, errors: list) -> tuple:
    staging = cache.new_staging_dir()
    dests = {key: os.path.join(staging, "%06d" % i) for i, key in enumerate(keys)}
    fetched, copied = split_downloads(keys, remote, s5.part_size)
    run_file = os.path.join(staging, "commands.txt")
    with open(run_file, "w", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in copy_commands(bucket, [(k, dests[k]) for k in copied], s5.cp_flags)))
    by_dest = {dests[k]: k for k in copied}
    progress = Progress(len(keys), sum(remote[k]["size"] for k in keys), staging)
    reporter = threading.Thread(target=progress.run, daemon=True)
    reporter.start()
    done = []
    lock = threading.Lock()  # finish runs in the fetch threads and in both s5cmd output readers

    def finish(key: str, error: str | None) -> None:
        with lock:
            if error:
                errors.append("%s: %s" % (key, error))
                return
            expected = remote[key]["size"]
            try:
                got = os.path.getsize(dests[key])
                if got != expected:
                    errors.append("%s: got %d bytes, expected %d" % (key, got, expected))
                    return
                cache.place(dests[key], key)
            except (OSError, SyncError) as failure:  # e.g. a folder where the key wants a file: it fails alone
                errors.append("%s: %s" % (key, failure))
                return
            manifest[key] = remote[key]
            done.append(key)
            progress.done_files += 1
            progress.done_bytes += expected

    def on_result(line: str) -> None:
        try:
            result = json.loads(line)
        except ValueError:
            with lock:
                errors.append(line.strip())
            return
        key = by_dest.get(result.get("destination") or "")
        if key is None:
            with lock:
                errors.append("%s: %s" % (result.get("source", "?"), result.get("error", "copy failed")))
        else:
            finish(key, None if result.get("success") and not result.get("error") else
                   result.get("error", "copy failed"))

    fetcher = threading.Thread(target=fetch_presigned, args=(s5, bucket, fetched, dests, finish), daemon=True)
    try:
        fetcher.start()
        code = s5.copy_many(run_file, on_result) if copied else 0
        while fetcher.is_alive():
            fetcher.join(0.2)  # a timeout, so SIGTERM still stops the run
    finally:
        progress.stop.set()
        progress.report()
        shutil.rmtree(staging, ignore_errors=True)
    missing = len(keys) - len(done)
    if missing and not errors:
        errors.append("%d objects were not downloaded (s5cmd exited with code %d)" % (missing, code))
    return done, progress.done_bytes
