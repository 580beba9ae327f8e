"""Writing one object through Mountpoint for S3 so that it is published whole or not at all, for output_shipper.py.

Mountpoint completes an upload when the file is closed, and the upload cannot be cancelled
(awslabs/mountpoint-s3 doc/SEMANTICS.md): a copy that fails midway and is then closed publishes a truncated
object, and the outputs volume allows overwrite, so it would replace a good copy. ObjectUpload.abort makes
Mountpoint abort the upload before the close. What this cannot prevent: a copy cut by SIGKILL (the kernel's
close completes it), which is why the shipper does not start a copy that cannot finish before its deadline
(Throughput) and aborts one still running at the deadline (copy_at_most's check). Standard library only.
"""
from __future__ import annotations

import collections
import os

CHUNK = 8 * 1024 * 1024
MIB = 1024 ** 2
# Before any copy is measured: well under what one Mountpoint upload reaches from a GPU instance, so a first
# estimate errs towards not starting a copy; a copy that is still slower is aborted at the deadline anyway.
DEFAULT_BYTES_PER_SECOND = 32 * MIB


class ObjectUpload:
    """One object written through Mountpoint: sequential unbuffered writes (os.write, no Python buffer that a
    close would flush); close() completes the upload, abort() makes Mountpoint abort it.

    abort() writes one byte past the next offset before closing: Mountpoint answers any out-of-order write by
    aborting the upload and marking the handle failed (mountpoint-s3-fs/src/fs/handles.rs, UploadState::write,
    "Abort the request"; upload.rs: "out-of-order write is NOT supported by Mountpoint, aborting the upload;
    expected offset X but got Y"), and the close that follows fails ("upload already aborted") instead of
    completing anything. Always, even with nothing written: a handle closed after no write is completed when
    it is released, as an empty object.
    """

    def __init__(self, path: str):
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        self.written = 0

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            count = os.write(self.fd, view)
            view, self.written = view[count:], self.written + count

    def abort(self) -> None:
        try:
            os.pwrite(self.fd, b"\0", self.written + 1)  # EINVAL on Mountpoint: the upload is aborted
        except OSError:
            pass
        try:
            os.close(self.fd)
        except OSError:  # expected on Mountpoint: nothing was completed
            pass

    def close(self) -> None:
        os.close(self.fd)  # completes the upload; an error means it failed


class Throughput:
    """Bytes per second of recent copies of at least min_bytes (smaller ones mostly time the round trips)."""

    def __init__(self, default_bytes_per_second: float, window: int = 16, min_bytes: int = MIB):
        self.default, self.min_bytes = default_bytes_per_second, min_bytes
        self.recent: collections.deque[tuple[int, float]] = collections.deque(maxlen=window)

    def record(self, size: int, seconds: float) -> None:
        if size >= self.min_bytes and seconds > 0:
            self.recent.append((size, seconds))

    def seconds_for(self, size: int) -> float:
        if not self.recent:
            return size / self.default
        return size * sum(seconds for _, seconds in self.recent) / sum(count for count, _ in self.recent)

def write_object(src, target: str, limit: int, check=None, upload=ObjectUpload) -> int:
    """Copies src into one upload of target and completes it, or aborts it when anything fails or src grows past
    limit (then it returns limit + 1 and nothing is published). Returns the bytes copied. Where target did not
    exist before, what a local filesystem kept of an aborted copy is removed (Mountpoint keeps nothing)."""
    existed = os.path.lexists(target)
    dst = upload(target)
    try:
        copied = copy_at_most(src, dst, limit, check)
    except BaseException:
        abort(dst, target, existed)
        raise
    if copied > limit:
        abort(dst, target, existed)
    else:
        dst.close()  # completes the upload; an OSError here means it failed
    return copied


def abort(dst, target: str, existed: bool) -> None:
    dst.abort()
    if not existed:
        try:
            os.unlink(target)
        except OSError:
            pass


def copy_at_most(src, dst, limit: int, check=None) -> int:
    """Copies until end of file or one byte past limit, so a file that keeps growing cannot stall the shipper;
    check() runs before each chunk and may raise to stop the copy."""
    copied = 0
    while copied <= limit:
        if check is not None:
            check()
        chunk = src.read(min(CHUNK, limit + 1 - copied))
        if not chunk:
            break
        dst.write(chunk)
        copied += len(chunk)
    return copied
