"""Model weights read from disk once per process and shared by every GPU worker.

Targets comfy/utils.py (v0.8.0) `load_torch_file(ckpt, safe_load=False, device=None,
return_metadata=False)`, which every checkpoint, LoRA, VAE and CLIP loader calls. Without this,
four workers loading one checkpoint read it four times and hold four CPU copies. Loads to the CPU
(device None or cpu) go through core/shared_file_cache.py, keyed by (real path, size, mtime_ns,
safe_load) so a replaced file is read again and an unsafe (pickle) load never serves a safe one.
Each caller gets its own containers (the top dict and every nested dict, list and tuple: IP-Adapter
and PhotoMaker files nest dicts, and ComfyUI pops and renames keys of what it receives) holding
the same tensors; sharing tensors is safe because loaders copy them into the model's parameters
rather than modifying them in place, and pinning a shared tensor is counted per holder
(pinned_memory.py).

Only formats where sharing saves memory are cached. `.safetensors`/`.sft` files are opened with
mmap by stock ComfyUI, so N loads already share one page-cache copy (README, "Shared weights
cache": +0 GiB private RAM stock); caching them would only turn N private tensor objects into
shared ones. They bypass the cache unless ComfyUI runs with --disable-mmap (comfy.utils.DISABLE_MMAP),
and are counted as mmap loads on /metrics.

An entry counts as in use until every dict handed out for it has been garbage collected (a
finalizer on the returned dict); only entries not in use are evicted, least recently used first,
once the cache holds more than its byte budget (COMFY_WEIGHTS_CACHE_GIB). Sizes are file sizes.
Tensors a caller still holds after its dict is gone stay in memory outside the budget until the
caller drops them. Loads to a GPU device bypass the cache.
"""
from __future__ import annotations

import logging
import os
import threading
import weakref
from typing import Any, Callable, Hashable, Optional, Tuple

from ..core.shared_file_cache import SharedFileCache

log = logging.getLogger("multigpu.weights_cache")


class StateDict(dict):
    """A plain dict that can carry a weak reference (the in-use finalizer needs one)."""


MMAP_SUFFIXES = (".safetensors", ".sft")  # comfy/utils.py load_torch_file's safetensors branch


def file_key(path: str, safe_load: bool = False) -> Tuple[str, int, int, bool]:
    real = os.path.realpath(path)
    stat = os.stat(real)
    return real, stat.st_size, stat.st_mtime_ns, bool(safe_load)


def shared_by_mmap(path: str, comfy_utils) -> bool:
    return path.lower().endswith(MMAP_SUFFIXES) and not getattr(comfy_utils, "DISABLE_MMAP", False)


class MmapLoads:
    """Loads left to mmap (a counter /metrics reads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def add(self) -> None:
        with self._lock:
            self.count += 1


def copy_containers(value: Any) -> Any:
    """New dicts, lists and tuples all the way down; everything else (tensors) shared."""
    if isinstance(value, dict):
        return {key: copy_containers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_containers(item) for item in value]
    if isinstance(value, tuple):
        return type(value)(*map(copy_containers, value)) if hasattr(value, "_fields") \
            else tuple(copy_containers(item) for item in value)
    return value


def _file_size(key: Hashable, _value: Any) -> int:  # key: file_key()
    return key[1]


def new_weights_cache(max_bytes: int) -> SharedFileCache:
    return SharedFileCache(max_bytes, size_of=_file_size)


def _hand_out(cache: SharedFileCache, key: Hashable, loaded: Tuple[Any, Any], return_metadata: bool):
    state_dict, metadata = loaded
    if isinstance(state_dict, dict):
        copy = StateDict(copy_containers(state_dict))
        weakref.finalize(copy, cache.release, key)
    else:  # an unusual checkpoint whose payload is not a dict: shared as is, evictable at once
        copy = state_dict
        cache.release(key)
    if return_metadata:
        return copy, copy_containers(metadata)
    return copy


def patch_load_torch_file(comfy_utils, cache: SharedFileCache, mmap_loads: Optional[MmapLoads] = None) -> None:
    original: Callable = comfy_utils.load_torch_file
    if getattr(original, "_multigpu_original", None):
        return
    mmap_loads = mmap_loads or MmapLoads()

    def load_torch_file(ckpt, safe_load=False, device=None, return_metadata=False):
        if device is not None and getattr(device, "type", str(device)) != "cpu":
            return original(ckpt, safe_load=safe_load, device=device, return_metadata=return_metadata)
        if shared_by_mmap(ckpt, comfy_utils):
            mmap_loads.add()
            return original(ckpt, safe_load=safe_load, device=device, return_metadata=return_metadata)
        key = file_key(ckpt, safe_load)

        def read():
            log.info("Reading %s into the shared weights cache", ckpt)
            return original(ckpt, safe_load=safe_load, device=device, return_metadata=True)

        loaded = cache.acquire(key, read)
        return _hand_out(cache, key, loaded, return_metadata)

    load_torch_file._multigpu_original = original
    comfy_utils.load_torch_file = load_torch_file
