"""Pruning of shipped outputs for output_shipper.py: placeholders that keep the names, and what to prune first.

Local outputs live on the node's NVMe array and count against the pod's ephemeral-storage limit (crossing it
evicts the pod at once: no drain, no final pass), so shipped files are pruned after a retention period, or
oldest first when the outputs pass a size limit. They cannot simply be deleted: ComfyUI numbers a new output
after the highest number among the names already in its folder (folder_paths.get_save_image_path: counter =
max existing counter for the prefix + 1), so a deleted name would be used again and the shipper would then
overwrite the older object (the outputs volume allows overwrite). A pruned file keeps its name and mtime, is
truncated to 0 bytes and is marked with the user xattr `user.comfyui.shipped` = "<size>:<mtime_ns>" it had
when it was shipped; where the filesystem refuses user xattrs, the mark goes into an index file in a hidden
folder of the output directory (hidden folders are never shipped). An empty marked file is a placeholder:
never shipped and never pruned again, also after a restart of the sidecar. ComfyUI's /view then serves an
empty file; the object stays in the bucket. A writer that puts new bytes under the name makes it an output
again. Standard library only.
"""
from __future__ import annotations

import errno
import json
import os

MARK_XATTR = "user.comfyui.shipped"
INDEX_DIR = ".output-shipper"  # hidden: never shipped, never pruned
# The job runner's folder (comfyui_image/jobs_contract.json "localOutputSubfolder"; a test ties the two): it
# streams each job's files to S3 itself, so they are never shipped, and removed after JOBS_KEEP_LOCAL_SECONDS.
JOBS_DIR = "jobs"
# An hour: the runner uploads a job's files as soon as its prompt ends (docs/jobs.md); this leaves room for
# a runner that is replaced mid-upload and adopts the job again.
JOBS_KEEP_LOCAL_SECONDS = 3600
INDEX_FILE = "pruned.json"
# What setxattr answers where user xattrs are not supported (tmpfs before Linux 6.6, some overlay setups).
XATTR_REFUSED = (errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM)


class Placeholders:
    """Marks pruned files and recognizes them, with an xattr or, where that is refused, an index file."""

    def __init__(self, root: str):
        self.index_path = os.path.join(root, INDEX_DIR, INDEX_FILE)
        self.index = read_index(self.index_path)  # relative path -> "<size>:<mtime_ns>"

    def is_placeholder(self, path: str, rel: str, size: int) -> bool:
        if size != 0:
            return False
        if rel in self.index:
            return True
        try:
            os.getxattr(path, MARK_XATTR, follow_symlinks=False)
        except OSError:  # ENODATA: not marked; ENOTSUP: not supported here, so never marked here
            return False
        return True

    def mark(self, fd: int, rel: str, size: int, mtime_ns: int) -> str:
        """Marks the open file as pruned, before it is truncated; says where the mark went."""
        value = "%d:%d" % (size, mtime_ns)
        try:
            os.setxattr(fd, MARK_XATTR, value.encode())
            return "xattr"
        except OSError as error:
            if error.errno not in XATTR_REFUSED:
                raise
        self.index[rel] = value
        write_index(self.index_path, self.index)  # a failure here (disk full) leaves the file as it is
        return "index"

    def make(self, fd: int, rel: str, state: tuple[int, int]) -> str:
        """Makes the open file, shipped in state (size, mtime_ns), a placeholder: marked first, then truncated,
        its mtime kept. Says where the mark went, or "" where the file changed since (it ships again first)."""
        st = os.fstat(fd)
        if (st.st_size, st.st_mtime_ns) != state:
            return ""
        where = self.mark(fd, rel, *state)
        os.ftruncate(fd, 0)
        os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))
        return where


def read_index(path: str) -> dict[str, str]:
    try:
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
    except (OSError, ValueError):
        return {}
    return {str(rel): str(value) for rel, value in data.items()} if isinstance(data, dict) else {}


def write_index(path: str, index: dict[str, str]) -> None:
    """Replaces the index in one rename, so a crash leaves the old index or the new one."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as file:
        json.dump(index, file, sort_keys=True)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def choose_prunable(candidates: list[tuple[int, str, int]], used_bytes: int, limit_bytes: int, now_ns: int,
                    keep_ns: int) -> list[str]:
    """Shipped files to prune, oldest first: each one older than the retention period, then more while the
    outputs use more than the limit. candidates: (mtime_ns, relative path, bytes on disk) of shipped files
    that have not changed since. A file with an mtime in the future is never too old, and pruned last."""
    chosen = []
    for mtime_ns, rel, disk_bytes in sorted(candidates):
        if now_ns - mtime_ns < keep_ns and used_bytes <= limit_bytes:
            break  # the rest are newer still
        chosen.append(rel)
        used_bytes -= disk_bytes
    return chosen


def expired_job_files(files: list[tuple[int, str]], now_ns: int, keep_ns: int) -> list[str]:
    """Files (or folders) under JOBS_DIR to remove: (mtime_ns, relative path) older than keep_ns. Each job has a folder of
    its own (jobs/<job id>/), so, unlike shipped outputs, a removed name is never numbered again."""
    return [rel for mtime_ns, rel in sorted(files) if now_ns - mtime_ns >= keep_ns]
