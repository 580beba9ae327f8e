"""Progress of a run's downloads: a log line every few seconds (the journal, CloudWatch) and status.json."""
from __future__ import annotations

import os
import threading
import time

from .log import human_bytes, log
from .run_status import RunStatus

PROGRESS_EVERY_SECONDS = 5.0


class Progress:
    def __init__(self, total_files: int, total_bytes: int, staging: str, status: RunStatus):
        self.total_files, self.total_bytes, self.staging, self.status = total_files, total_bytes, staging, status
        self.done_files, self.done_bytes = 0, 0
        self.started = time.monotonic()
        self.stop = threading.Event()

    def placed(self, size: int) -> None:
        self.done_files += 1
        self.done_bytes += size
        self.status.progress(files=self.done_files, total_files=self.total_files, bytes=self.done_bytes,
                             total_bytes=self.total_bytes)

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
