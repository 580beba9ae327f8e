"""Model weights read from disk once per process and shared by every GPU worker.

Targets comfy/utils.py (v0.8.0) `load_torch_file(ckpt, safe_load=False, device=None,
return_metadata=False)`, which every checkpoint, LoRA, VAE and CLIP loader calls. Without this,
four workers loading one checkpoint read it four times and hold four CPU copies. Loads to the CPU
(device None or cpu) go through core/shared_file_cache.py, keyed by (real path, size, mtime_ns) so
a replaced file is read again. Each caller gets a NEW dict holding the same tensors, because
ComfyUI pops and renames keys of the state dict it receives; the tensors are shared, which is
safe because loaders copy them into the model's parameters rather than modifying them in place.

An entry counts as in use until every dict handed out for it has been garbage collected (a
finalizer on the returned dict); only entries not in use are evicted, least recently used first,
once the cache holds more than its byte budget (COMFY_WEIGHTS_CACHE_GIB). Sizes are file sizes.
Tensors a caller still holds after its dict is gone stay in memory outside the budget until the
caller drops them. Loads to a GPU device bypass the cache.
"""
from __future__ import annotations

import logging
import os
import weakref
from typing import Any, Callable, Hashable, Tuple

from ..core.shared_file_cache import SharedFileCache

log = logging.getLogger("multigpu.weights_cache")


class StateDict(dict):
    """A plain dict that can carry a weak reference (the in-use finalizer needs one)."""


def file_key(path: str) -> Tuple[str, int, int]:
    real = os.path.realpath(path)
    stat = os.stat(real)
    return real, stat.st_size, stat.st_mtime_ns


def _file_size(key: Hashable, _value: Any) -> int:
    return key[1]


def new_weights_cache(max_bytes: int) -> SharedFileCache:
    return SharedFileCache(max_bytes, size_of=_file_size)


def _hand_out(cache: SharedFileCache, key: Hashable, loaded: Tuple[Any, Any], return_metadata: bool):
    state_dict, metadata = loaded
    if isinstance(state_dict, dict):
        copy = StateDict(state_dict)
        weakref.finalize(copy, cache.release, key)
    else:  # an unusual checkpoint whose payload is not a dict: shared as is, evictable at once
        copy = state_dict
        cache.release(key)
    if return_metadata:
        return copy, (dict(metadata) if isinstance(metadata, dict) else metadata)
    return copy


def patch_load_torch_file(comfy_utils, cache: SharedFileCache) -> None:
    original: Callable = comfy_utils.load_torch_file
    if getattr(original, "_multigpu_original", None):
        return

    def load_torch_file(ckpt, safe_load=False, device=None, return_metadata=False):
        if device is not None and getattr(device, "type", str(device)) != "cpu":
            return original(ckpt, safe_load=safe_load, device=device, return_metadata=return_metadata)
        key = file_key(ckpt)

        def read():
            log.info("Reading %s into the shared weights cache", ckpt)
            return original(ckpt, safe_load=safe_load, device=device, return_metadata=True)

        loaded = cache.acquire(key, read)
        return _hand_out(cache, key, loaded, return_metadata)

    load_torch_file._multigpu_original = original
    comfy_utils.load_torch_file = load_torch_file
