"""Output file counters that two workers cannot both take.

Targets folder_paths.py (v0.8.0) `get_save_image_path`, which picks the next counter by listing
the output folder; the node (nodes.py `SaveImage.save_images`) writes the files afterwards. Two
workers saving with the same prefix at once would both pick the same counter and overwrite each
other's image. On a worker, the wrapper takes the lock for (output folder, prefix) before the
listing and keeps it until the node has finished: `release_after_node` runs on the worker's next
`executing` / `executed` message (server_state.py) and when the prompt ends (executor.py). The
GPU holds the lock, not the thread, so a save on a helper thread is released there too.

The key is the prefix as given, before `%date%`-style variables are expanded, so two prefixes
that differ only in spelling but expand to the same file name are not serialised. A node that
saves under two prefixes holds both until it finishes; two such nodes taking the same two
prefixes in opposite order on two GPUs would wait on each other (no stock node does this).
"""
from __future__ import annotations

import os

from ..core.keyed_locks import KeyedLocks
from .worker_binding import bound_gpu


def output_lock_key(filename_prefix: str, output_dir: str) -> tuple:
    folder = os.path.normcase(os.path.abspath(output_dir))
    return folder, os.path.normcase(os.path.normpath(filename_prefix))


def patch_save_image_path(folder_paths, locks: KeyedLocks) -> None:
    original = folder_paths.get_save_image_path
    if getattr(original, "_multigpu_original", None):
        return

    def get_save_image_path(filename_prefix, output_dir, image_width=0, image_height=0):
        gpu = bound_gpu()
        if gpu is not None:  # other threads never reach a node boundary to release
            locks.acquire(output_lock_key(filename_prefix, output_dir), owner=gpu)
        return original(filename_prefix, output_dir, image_width, image_height)

    get_save_image_path._multigpu_original = original
    folder_paths.get_save_image_path = get_save_image_path


def release_after_node(locks: KeyedLocks) -> None:
    """Release the file-name locks the calling thread's GPU holds, including those its helper
    threads took (a no-op off the workers or when it holds none)."""
    gpu = bound_gpu()
    if gpu is not None:
        locks.release_held(gpu)
