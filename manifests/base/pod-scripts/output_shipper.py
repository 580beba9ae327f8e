#!/usr/bin/env python3
"""Output shipper: copies ComfyUI's finished outputs from its local output directory to the outputs bucket.

ComfyUI writes into a local directory (an emptyDir on the node's NVMe array), because Mountpoint for S3
only supports sequential writes to new files: video encoders seek back to finish a file (an MP4's index),
which Mountpoint refuses. This sidecar copies each file once it has stopped changing (same size and mtime
for --settle-seconds) to the Mountpoint volume under <pod name>/<relative path>, as one sequential write;
the object appears in S3 only when that write completes, so nobody sees half a file. A file that changes
again after its copy (an encoder's second pass) is copied again. Local files stay for the pod's life, so
ComfyUI's /view keeps serving them and its file counter never reuses a name.

Only regular files are shipped: whatever runs in ComfyUI (custom nodes, workflows) can write into the output
directory, so a symlink there must not ship a file of this container (a token) or stream /dev/zero forever, and a
FIFO must not block the shipper. Symlinks, FIFOs, devices and sockets are skipped (logged once), directories are
walked without following links, and files are opened with O_NOFOLLOW and checked again after opening. A file over
--max-file-gib is refused (logged once) and the others are still shipped.

On SIGTERM (a native sidecar gets it after ComfyUI has exited) it copies whatever is left, settled or not,
and exits. Standard library only.
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

CHUNK = 8 * 1024 * 1024
GIB = 1024 ** 3
DEFAULT_MAX_FILE_GIB = 20  # well above a long 4K video; a bigger file is more likely a runaway writer
MAX_FILE_GIB_ENV = "OUTPUT_SHIPPER_MAX_FILE_GIB"


class Refused(Exception):
    """A file that must not be shipped as it is now (not a regular file, or over the size cap): no retry."""


def file_kind(mode: int) -> str:
    for test, kind in ((stat.S_ISLNK, "symlink"), (stat.S_ISFIFO, "fifo"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket"), (stat.S_ISDIR, "directory")):
        if test(mode):
            return kind
    return "regular file" if stat.S_ISREG(mode) else "unknown"


def open_regular_file(root: str, rel: str) -> int:
    """Opens root/rel for reading without following a symlink in any component of rel.

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
        parent, fd = fd, os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                                 dir_fd=fd)
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
    def __init__(self, source: str, dest: str, settle_seconds: float, clock=time.time,
                 max_file_bytes: int = DEFAULT_MAX_FILE_GIB * GIB):
        self.source, self.dest, self.settle, self.clock = source, dest, settle_seconds, clock
        self.max_file_bytes = max_file_bytes
        self.refused: dict[str, tuple[object, ...]] = {}  # relative path -> what was refused, to log it once
        self.seen: dict[str, tuple[int, int]] = {}  # relative path -> (size, mtime_ns) at the last scan
        self.shipped: dict[str, tuple[int, int]] = {}  # relative path -> (size, mtime_ns) when copied
        self.failures = 0

    def scan(self) -> dict[str, tuple[int, int]]:
        found = {}
        # os.walk does not follow symlinked directories (followlinks=False); it lists them among the files
        for root, dirs, files in os.walk(self.source):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in files:
                if name.startswith("."):  # hidden and temporary files of writers
                    continue
                path = os.path.join(root, name)
                rel = os.path.relpath(path, self.source)
                try:
                    st = os.lstat(path)
                except FileNotFoundError:
                    continue
                if not stat.S_ISREG(st.st_mode):
                    self.refuse(rel, "not a regular file (%s)" % file_kind(st.st_mode), (st.st_mode,))
                    continue
                found[rel] = (st.st_size, st.st_mtime_ns)
        return found

    def refuse(self, rel: str, reason: str, state: tuple[object, ...]) -> None:
        """Logs a refused file once for each state it is refused in, not on every scan."""
        if self.refused.get(rel) != (reason, state):
            self.refused[rel] = (reason, state)
            log("skipped: " + reason, file=rel)

    def due(self, found: dict[str, tuple[int, int]], final: bool) -> list[str]:
        """Files to copy now: changed since their last copy, and settled (or this is the final pass)."""
        now_ns = int(self.clock() * 1e9)
        ready = []
        for rel, state in sorted(found.items()):
            if self.shipped.get(rel) == state:
                continue
            settled = self.seen.get(rel) == state and now_ns - state[1] >= self.settle * 1e9
            if final or settled:
                ready.append(rel)
        return ready

    def already_in_bucket(self, rel: str, size: int) -> bool:
        """After a restart of this sidecar: a file whose object already has its size was copied before."""
        try:
            return os.stat(os.path.join(self.dest, rel)).st_size == size
        except OSError:
            return False

    def copy(self, rel: str) -> None:
        source, target = os.path.join(self.source, rel), os.path.join(self.dest, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        started = time.monotonic()
        fd = open_regular_file(self.source, rel)
        with os.fdopen(fd, "rb") as src:
            before = os.fstat(src.fileno())
            if before.st_size > self.max_file_bytes:
                raise Refused("over the size cap of %d bytes (%d bytes)" % (self.max_file_bytes, before.st_size))
            with open(target, "wb") as dst:  # one sequential write, as Mountpoint needs
                copied = copy_at_most(src, dst, self.max_file_bytes)
            if copied > self.max_file_bytes:  # it grew while it was copied: remove the object if we may
                raise Refused(discard_oversized(target, self.max_file_bytes))
        # close() above completed the upload; record what was copied, not what is there now
        self.shipped[rel] = (before.st_size, before.st_mtime_ns)
        log("shipped", file=rel, bytes=before.st_size, seconds=round(time.monotonic() - started, 3))

    def run_once(self, final: bool = False) -> int:
        found = self.scan()
        copied = 0
        for rel in self.due(found, final):
            if rel not in self.shipped and self.already_in_bucket(rel, found[rel][0]):
                self.shipped[rel] = found[rel]
                continue
            try:
                self.copy(rel)
                copied += 1
            except Refused as reason:
                self.refuse(rel, str(reason), found[rel])
                self.shipped[rel] = found[rel]  # not again until the file changes
            except OSError as error:
                self.failures += 1
                log("copy failed; will retry", file=rel, error=str(error))
        self.seen = found
        return copied


def discard_oversized(target: str, limit: int) -> str:
    """Removes an object that outgrew the cap while it was copied, and says what became of it.

    The outputs volume grants no delete (outputs-storage.yaml has no allow-delete, the pod's role no
    s3:DeleteObject), so there the unlink fails and the truncated copy stays: refused once, not retried.
    """
    reason = "grew over the size cap of %d bytes while it was copied" % limit
    try:
        os.unlink(target)
    except OSError as error:
        return "%s; its first %d bytes stay in the bucket (cannot delete: %s)" % (reason, limit + 1, error.strerror)
    return reason


def copy_at_most(src, dst, limit: int) -> int:
    """Copies until end of file or one byte past limit, so a file that keeps growing cannot stall the shipper."""
    copied = 0
    while copied <= limit:
        chunk = src.read(min(CHUNK, limit + 1 - copied))
        if not chunk:
            break
        dst.write(chunk)
        copied += len(chunk)
    return copied


def max_file_gib(value: str) -> int:
    try:
        gib = int(value)
    except ValueError:
        gib = 0
    if gib < 1:
        raise argparse.ArgumentTypeError("must be a whole number of GiB, at least 1 (flag or $%s), got %r"
                                         % (MAX_FILE_GIB_ENV, value))
    return gib


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--source", required=True, help="ComfyUI's --output-directory")
    p.add_argument("--bucket-mount", required=True, help="the outputs bucket's Mountpoint volume")
    p.add_argument("--prefix", default=os.environ.get("POD_NAME", ""), help="default: $POD_NAME")
    p.add_argument("--settle-seconds", type=float, default=10.0)
    p.add_argument("--interval-seconds", type=float, default=2.0)
    p.add_argument("--max-file-gib", type=max_file_gib,
                   default=os.environ.get(MAX_FILE_GIB_ENV, str(DEFAULT_MAX_FILE_GIB)),
                   help="larger files are not shipped (logged); default: $%s or %d"
                        % (MAX_FILE_GIB_ENV, DEFAULT_MAX_FILE_GIB))
    args = p.parse_args(argv)
    if not args.prefix or "/" in args.prefix or args.prefix.startswith("."):
        p.error("--prefix (or $POD_NAME) must be a plain name, got %r" % args.prefix)
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    shipper = Shipper(args.source, os.path.join(args.bucket_mount, args.prefix), args.settle_seconds,
                      max_file_bytes=args.max_file_gib * GIB)
    log("shipping outputs", source=args.source, dest=shipper.dest, settle_seconds=args.settle_seconds,
        max_file_gib=args.max_file_gib)
    while not stop["now"]:
        shipper.run_once()
        time.sleep(args.interval_seconds)
    copied = shipper.run_once(final=True)
    log("final pass done", copied=copied, failures=shipper.failures)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
