#!/usr/bin/env python3
"""Output shipper: copies ComfyUI's finished outputs from its local output directory to the outputs bucket.

ComfyUI writes into a local directory (an emptyDir on the node's NVMe array), because Mountpoint for S3
only supports sequential writes to new files: video encoders seek back to finish a file (an MP4's index),
which Mountpoint refuses. This sidecar copies each file once it has settled (the same size and mtime for
--settle-seconds, timed by this sidecar's own monotonic clock, so a file's mtime, even one in the future, does
not matter) to the Mountpoint volume under <pod name>/<relative path>, small files first, as one sequential
unbuffered write: closing the file completes the upload, so nobody sees half a copy. A copy that fails midway
is aborted before it is closed (ObjectUpload.abort), so it never publishes a truncated object over a good one.
A file that changes again after its copy (an encoder's second pass) is copied again; after a restart of this
sidecar a file is copied again unless the bucket holds an object of its size uploaded after its mtime.

Files under jobs/ (output_pruner.JOBS_DIR) belong to the job runner, which streams them to S3 itself
(docs/jobs.md): they are never shipped, and are removed (and their emptied folders) an hour after they were
written (JOBS_KEEP_LOCAL_SECONDS).

Shipped files are pruned after --keep-local-hours, or oldest first while the outputs use more than
--local-limit-gib; a pruned file stays as an empty placeholder so ComfyUI never reuses its name
(output_pruner.py). Local usage is logged every --usage-log-seconds as one JSON line ("local usage").

Only regular files are shipped: whatever runs in ComfyUI (custom nodes, workflows) can write into the output
directory, so a symlink there must not ship a file of this container (a token) or stream /dev/zero forever, and a
FIFO must not block the shipper. Symlinks, FIFOs, devices and sockets are skipped (logged once), directories are
walked without following links, and files are opened with O_NOFOLLOW and checked again after opening. A file over
--max-file-gib is refused (logged once) and the others are still shipped.

On SIGTERM (a native sidecar gets it after ComfyUI has exited) it copies whatever is left, settled or not, within
--final-pass-seconds: a copy whose estimate (bytes / measured throughput) does not fit in what is left is not
started (logged "not shipped before shutdown"), and one still running at the deadline is aborted, so the
kubelet's SIGKILL never cuts a copy. Standard library only.
"""
from __future__ import annotations

import argparse
import errno
import json
import os
import signal
import stat
import sys
import time

from output_pruner import (INDEX_DIR, JOBS_DIR, JOBS_KEEP_LOCAL_SECONDS, Placeholders, choose_prunable,
                            expired_job_files)
from output_upload import DEFAULT_BYTES_PER_SECOND, ObjectUpload, Throughput, write_object

GIB = 1024 ** 3
DEFAULT_MAX_FILE_GIB = 20  # well above a long 4K video; a bigger file is more likely a runaway writer
# The last measurement of the local folder, in the hidden INDEX_DIR; the multi-GPU image's /metrics reads it.
USAGE_FILE = "usage.json"
MAX_FILE_GIB_ENV = "OUTPUT_SHIPPER_MAX_FILE_GIB"


class Refused(Exception):
    """A file that must not be shipped as it is now (not a regular file, or over the size cap): no retry."""


class ShutdownDeadline(Exception):
    """The final pass's time is up: the copy in progress is aborted rather than cut by SIGKILL."""


def file_kind(mode: int) -> str:
    for test, kind in ((stat.S_ISLNK, "symlink"), (stat.S_ISFIFO, "fifo"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket"), (stat.S_ISDIR, "directory")):
        if test(mode):
            return kind
    return "regular file" if stat.S_ISREG(mode) else "unknown"


def open_regular_file(root: str, rel: str, writable: bool = False) -> int:
    """Opens root/rel (for reading, or read-write to prune it) without following a symlink in any component.

    lstat in the scan and open here are two steps, so a writer can swap a file for a link in between:
    every component is opened with O_NOFOLLOW relative to its parent, and the file is checked with fstat.
    O_NONBLOCK keeps a FIFO swapped in from blocking the open; it changes nothing for a regular file.
    """
    parts = rel.split(os.sep)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts[:-1]:
            parent, fd = fd, os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                                     dir_fd=fd)
            os.close(parent)
        access = os.O_RDWR if writable else os.O_RDONLY
        parent, fd = fd, os.open(parts[-1], access | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=fd)
        os.close(parent)
    except OSError as error:
        os.close(fd)
        if error.errno in (errno.ELOOP, errno.ENOTDIR):  # a component is a symlink (or not a directory)
            raise Refused("a path component is a symlink") from error
        raise
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise Refused("not a regular file (%s)" % file_kind(mode))
    return fd


def log(message: str, **fields) -> None:
    print(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "msg": message, **fields}),
          flush=True)


class Shipper:
    def __init__(self, source: str, dest: str, settle_seconds: float, clock=time.monotonic,
                 max_file_bytes: int = DEFAULT_MAX_FILE_GIB * GIB, wall_clock=time.time,
                 keep_local_seconds: float = 24 * 3600, local_limit_bytes: int = 40 * GIB,
                 usage_log_seconds: float = 60, bytes_per_second: float = DEFAULT_BYTES_PER_SECOND,
                 upload=ObjectUpload, jobs_keep_local_seconds: float = JOBS_KEEP_LOCAL_SECONDS):
        self.source, self.dest, self.settle, self.clock = source, dest, settle_seconds, clock
        self.max_file_bytes, self.wall_clock, self.upload = max_file_bytes, wall_clock, upload
        self.keep_local_ns, self.local_limit_bytes = int(keep_local_seconds * 1e9), local_limit_bytes
        self.jobs_keep_ns = int(jobs_keep_local_seconds * 1e9)
        self.job_files: list[tuple[int, str]] = []  # (mtime_ns, relative path) under JOBS_DIR, from the last scan
        self.job_dirs: list[tuple[int, str]] = []  # (mtime_ns, relative path) of the folders under JOBS_DIR
        self.usage_log_seconds, self.next_usage_log = usage_log_seconds, None
        self.throughput = Throughput(bytes_per_second)
        self.placeholders = Placeholders(source)
        self.refused: dict[str, tuple[object, ...]] = {}  # relative path -> what was refused, to log it once
        self.since: dict[str, tuple[tuple[int, int], float]] = {}  # path -> (state, clock() when first seen so)
        self.shipped: dict[str, tuple[int, int]] = {}  # relative path -> (size, mtime_ns) when copied
        self.skipped: dict[str, tuple[int, int]] = {}  # refused in this state: not again until it changes
        self.disk: dict[str, int] = {}  # relative path -> bytes on disk, from the last scan
        self.usage = {"bytes": 0, "files": 0, "placeholders": 0}
        self.deadline = None  # clock() when the final pass must be over; set on SIGTERM
        self.failures = self.not_shipped = 0

    def scan(self) -> dict[str, tuple[int, int]]:
        found, self.disk, self.usage = {}, {}, {"bytes": 0, "files": 0, "placeholders": 0}
        self.job_files, self.job_dirs = [], []
        # os.walk does not follow symlinked directories (followlinks=False); it lists them among the files
        for root, _, files in os.walk(self.source):
            rel_root = os.path.relpath(root, self.source)
            in_hidden = rel_root != "." and any(part.startswith(".") for part in rel_root.split(os.sep))
            in_jobs = rel_root.split(os.sep)[0] == JOBS_DIR
            if in_jobs and rel_root != JOBS_DIR:
                try:
                    self.job_dirs.append((os.lstat(root).st_mtime_ns, rel_root))
                except FileNotFoundError:
                    pass
            for name in files:
                path = os.path.join(root, name)
                rel = os.path.relpath(path, self.source)
                try:
                    st = os.lstat(path)
                except FileNotFoundError:
                    continue
                if stat.S_ISREG(st.st_mode):  # hidden files too: all of them fill the pod's ephemeral storage
                    self.usage["bytes"] += st.st_blocks * 512
                    self.usage["files"] += 1
                if in_jobs:  # the job runner's: already in S3, removed after an hour
                    self.job_files.append((st.st_mtime_ns, rel))
                    continue
                if in_hidden or name.startswith("."):  # hidden and temporary files of writers, our index
                    continue
                if not stat.S_ISREG(st.st_mode):
                    self.refuse(rel, "not a regular file (%s)" % file_kind(st.st_mode), (st.st_mode,))
                elif self.placeholders.is_placeholder(path, rel, st.st_size):
                    self.usage["placeholders"] += 1
                else:
                    found[rel] = (st.st_size, st.st_mtime_ns)
                    self.disk[rel] = st.st_blocks * 512
        return found

    def refuse(self, rel: str, reason: str, state: tuple[object, ...]) -> None:
        """Logs a refused file once for each state it is refused in, not on every scan."""
        if self.refused.get(rel) != (reason, state):
            self.refused[rel] = (reason, state)
            log("skipped: " + reason, file=rel)

    def due(self, found: dict[str, tuple[int, int]], final: bool) -> list[str]:
        """Files to copy now, small first: changed since their last copy, and settled (or this is the final
        pass). Settled: unchanged for settle seconds of this sidecar's clock, whatever the file's mtime says."""
        now = self.clock()
        self.since = {rel: self.since[rel] if self.since.get(rel, (None,))[0] == state else (state, now)
                      for rel, state in found.items()}
        return [rel for rel, state in sorted(found.items(), key=lambda item: (item[1][0], item[0]))
                if state not in (self.shipped.get(rel), self.skipped.get(rel))
                and (final or now - self.since[rel][1] >= self.settle)]

    def already_in_bucket(self, rel: str, size: int, mtime_ns: int) -> bool:
        """After a restart of this sidecar: a file was copied before if the bucket holds an object of its size
        uploaded after its mtime (Mountpoint shows an object's upload time as its mtime); a file modified since
        is copied again. An object timed in the same second is copied again too: harmless, never a loss."""
        try:
            st = os.stat(os.path.join(self.dest, rel))
        except OSError:
            return False
        return st.st_size == size and st.st_mtime_ns > mtime_ns

    def begin_shutdown(self, seconds: float) -> None:
        if self.deadline is None:
            self.deadline = self.clock() + seconds

    def check_deadline(self) -> None:
        if self.deadline is not None and self.clock() >= self.deadline:
            raise ShutdownDeadline()

    def fits_before_deadline(self, rel: str, size: int) -> bool:
        if self.deadline is None:
            return True
        remaining, estimate = self.deadline - self.clock(), self.throughput.seconds_for(size)
        if estimate <= remaining:
            return True
        self.not_shipped += 1
        log("not shipped before shutdown: %s, %d bytes" % (rel, size), file=rel, bytes=size,
            estimate_seconds=round(estimate, 1), remaining_seconds=round(max(remaining, 0), 1))
        return False

    def copy(self, rel: str) -> None:
        target = os.path.join(self.dest, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        started = self.clock()
        fd = open_regular_file(self.source, rel)
        with os.fdopen(fd, "rb") as src:
            before = os.fstat(src.fileno())
            if before.st_size > self.max_file_bytes:
                raise Refused("over the size cap of %d bytes (%d bytes)" % (self.max_file_bytes, before.st_size))
            if write_object(src, target, self.max_file_bytes, self.check_deadline, self.upload) > self.max_file_bytes:
                raise Refused("grew over the size cap of %d bytes while it was copied; upload aborted"
                              % self.max_file_bytes)
        # record what was copied, not what is there now
        self.shipped[rel] = (before.st_size, before.st_mtime_ns)
        seconds = self.clock() - started
        self.throughput.record(before.st_size, seconds)
        log("shipped", file=rel, bytes=before.st_size, seconds=round(seconds, 3))

    def prune(self, found: dict[str, tuple[int, int]]) -> None:
        candidates = [(state[1], rel, self.disk.get(rel, 0)) for rel, state in found.items()
                      if self.shipped.get(rel) == state]
        for rel in choose_prunable(candidates, self.usage["bytes"], self.local_limit_bytes,
                                   int(self.wall_clock() * 1e9), self.keep_local_ns):
            try:
                if self.make_placeholder(rel, found[rel]):
                    self.usage["bytes"] -= self.disk.get(rel, 0)
                    self.usage["placeholders"] += 1
            except (OSError, Refused) as error:
                log("could not prune; will retry", file=rel, error=str(error))

    def remove_finished_jobs(self) -> None:
        """Removes the job runner's files older than an hour, then its emptied job folders that were old at the
        scan, deepest first: a fresh empty folder is one ComfyUI has just made to save into (get_save_image_path
        makes it before the node writes); rmdir refuses one that holds something."""
        now_ns = int(self.wall_clock() * 1e9)
        for rel in expired_job_files(self.job_files, now_ns, self.jobs_keep_ns):
            try:
                os.unlink(os.path.join(self.source, rel))  # a symlink goes, not what it points at
                log("removed job file", file=rel)
            except FileNotFoundError:
                pass
            except OSError as error:
                log("could not remove a job file; will retry", file=rel, error=str(error))
        for rel in sorted(expired_job_files(self.job_dirs, now_ns, self.jobs_keep_ns), key=lambda r: -r.count(os.sep)):
            try:
                if not os.listdir(os.path.join(self.source, rel)):
                    os.rmdir(os.path.join(self.source, rel))
            except OSError:
                pass  # not empty after all, or gone: the next scan looks again

    def make_placeholder(self, rel: str, state: tuple[int, int]) -> bool:
        fd = open_regular_file(self.source, rel, writable=True)
        try:
            where = self.placeholders.make(fd, rel, state)
        finally:
            os.close(fd)
        if where:
            log("pruned", file=rel, bytes=state[0], mark=where)
        return bool(where)

    def log_usage(self, found: dict[str, tuple[int, int]]) -> None:
        now = self.clock()
        if self.next_usage_log is not None and now < self.next_usage_log:
            return
        self.next_usage_log = now + self.usage_log_seconds
        unshipped = [rel for rel, state in found.items() if self.shipped.get(rel) != state]
        volume = os.statvfs(self.source)
        usage = dict(output_bytes=self.usage["bytes"], output_files=self.usage["files"],
                     unshipped_files=len(unshipped), unshipped_bytes=sum(self.disk.get(rel, 0) for rel in unshipped),
                     pruned_placeholders=self.usage["placeholders"], limit_bytes=self.local_limit_bytes,
                     over_limit=self.usage["bytes"] > self.local_limit_bytes,
                     volume_free_bytes=volume.f_bavail * volume.f_frsize,
                     volume_size_bytes=volume.f_blocks * volume.f_frsize)
        log("local usage", **usage)
        self.write_usage(usage)

    def write_usage(self, usage: dict) -> None:
        """The last measurement as JSON in the hidden state folder (never shipped, never pruned), whole or not
        at all: the multi-GPU image's /metrics reads it (COMFY_OUTPUT_USAGE_FILE, multigpu/core/output_usage.py)."""
        folder = os.path.join(self.source, INDEX_DIR)
        target = os.path.join(folder, USAGE_FILE)
        try:
            os.makedirs(folder, exist_ok=True)
            with open(target + ".tmp", "w", encoding="utf-8") as handle:
                json.dump(dict(usage, measured_at=self.wall_clock()), handle)
            os.replace(target + ".tmp", target)
        except OSError as error:
            log("could not write the usage file; the log line above still has it", error=str(error))

    def run_once(self, final: bool = False) -> int:
        found = self.scan()
        copied = 0
        for rel in self.due(found, final):
            if rel not in self.shipped and self.already_in_bucket(rel, *found[rel]):
                self.shipped[rel] = found[rel]
                continue
            if not self.fits_before_deadline(rel, found[rel][0]):
                continue
            try:
                self.copy(rel)
                copied += 1
            except Refused as reason:
                self.refuse(rel, str(reason), found[rel])
                self.skipped[rel] = found[rel]  # not again until the file changes
            except ShutdownDeadline:
                self.not_shipped += 1
                log("not shipped before shutdown: %s, %d bytes" % (rel, found[rel][0]), file=rel,
                    bytes=found[rel][0], reason="the copy was aborted at the deadline")
            except OSError as error:
                self.failures += 1
                log("copy failed; will retry", file=rel, error=str(error))
        if not final:
            self.prune(found)
            self.remove_finished_jobs()
            self.log_usage(found)
        return copied


def number_flag(flag: str, minimum: float, env: str = "", whole: bool = False):
    """An argparse type whose error names the flag (and its environment variable) and the range."""
    def parse(value: str):
        try:
            number = int(value) if whole else float(value)
        except ValueError:
            number = minimum - 1
        if number < minimum or number != number:
            raise argparse.ArgumentTypeError("%s%s must be a %s, at least %g, got %r" % (
                flag, " (or $%s)" % env if env else "", "whole number" if whole else "number", minimum, value))
        return number
    return parse


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--source", required=True, help="ComfyUI's --output-directory")
    p.add_argument("--bucket-mount", required=True, help="the outputs bucket's Mountpoint volume")
    p.add_argument("--prefix", default=os.environ.get("POD_NAME", ""), help="default: $POD_NAME")
    # Short, so that outputs reach the bucket before a spot node dies (2 minutes after the notice).
    p.add_argument("--settle-seconds", type=number_flag("--settle-seconds", 0), default=3.0)
    p.add_argument("--interval-seconds", type=number_flag("--interval-seconds", 0.1), default=1.0)
    p.add_argument("--max-file-gib", type=number_flag("--max-file-gib", 1, MAX_FILE_GIB_ENV, whole=True),
                   default=os.environ.get(MAX_FILE_GIB_ENV, str(DEFAULT_MAX_FILE_GIB)),
                   help="larger files are not shipped (logged); default: $%s or %d"
                        % (MAX_FILE_GIB_ENV, DEFAULT_MAX_FILE_GIB))
    p.add_argument("--final-pass-seconds", type=number_flag("--final-pass-seconds", 1), default=50.0,
                   help="after SIGTERM, copies that cannot finish within this are not started")
    p.add_argument("--keep-local-hours", type=number_flag("--keep-local-hours", 0), default=24.0,
                   help="shipped files older than this are pruned to empty placeholders")
    # Within the pod's 50Gi ephemeral-storage request, which input, temp and user folders share.
    p.add_argument("--local-limit-gib", type=number_flag("--local-limit-gib", 0.1), default=40.0,
                   help="above this, shipped files are pruned oldest first")
    p.add_argument("--usage-log-seconds", type=number_flag("--usage-log-seconds", 1), default=60.0)
    args = p.parse_args(argv)
    if not args.prefix or "/" in args.prefix or args.prefix.startswith("."):
        p.error("--prefix (or $POD_NAME) must be a plain name, got %r" % args.prefix)
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    shipper = Shipper(args.source, os.path.join(args.bucket_mount, args.prefix), args.settle_seconds,
                      max_file_bytes=args.max_file_gib * GIB, keep_local_seconds=args.keep_local_hours * 3600,
                      local_limit_bytes=int(args.local_limit_gib * GIB), usage_log_seconds=args.usage_log_seconds)
    stop = {"now": False}

    def on_sigterm(*_):
        stop["now"] = True
        shipper.begin_shutdown(args.final_pass_seconds)  # a copy in progress now stops at the deadline

    signal.signal(signal.SIGTERM, on_sigterm)
    log("shipping outputs", source=args.source, dest=shipper.dest, settle_seconds=args.settle_seconds,
        max_file_gib=args.max_file_gib, final_pass_seconds=args.final_pass_seconds,
        keep_local_hours=args.keep_local_hours, local_limit_gib=args.local_limit_gib)
    while not stop["now"]:
        shipper.run_once()
        time.sleep(args.interval_seconds)
    copied = shipper.run_once(final=True)
    log("final pass done", copied=copied, failures=shipper.failures, not_shipped=shipper.not_shipped)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
