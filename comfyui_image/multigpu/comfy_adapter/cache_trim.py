"""When `soft_empty_cache` may really empty the CUDA cache (issue 22 item 4).

Targets comfy/model_management.py (v0.8.0) `soft_empty_cache(force)`, which calls
`torch.cuda.empty_cache()` and `torch.cuda.ipc_collect()`. Neither takes a device: they release the
cached blocks of every GPU the process touched, and the cudaMallocAsync backend ComfyUI enables for
`+cu` builds (cuda_malloc.py) synchronizes each device first, under one global lock. Stock calls it
from `free_memory` on most model loads (after an unload, or whenever torch holds more than 25% of
the free memory), from `cleanup_models_gc`, and every 10 s from the prompt loop; with N workers each
of those calls stalls all N GPUs. PyTorch offers no per-device trim, so we call it less:

- `force=True` (the attention and VAE out-of-memory fallbacks) always runs;
- a worker whose GPU unloaded a model since its last trim runs (the memory it freed is what the
  next load needs), at most once per `min_interval_s` per GPU;
- anything else (the 25% rule, periodic calls) runs at most once per `min_interval_s` per GPU;
- threads not bound to a GPU keep stock behaviour.
Calls that do run are still coalesced across threads (device.CoalescedCall): a wave of concurrent
callers empties the cache once.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Dict, Optional, Set

from .device import CoalescedCall
from .worker_binding import bound_gpu

# A trim costs every GPU a synchronize; one per GPU per half minute keeps fragmentation in check.
DEFAULT_MIN_INTERVAL_S = 30.0


class CacheTrimPolicy:
    """Pure decision: should this call empty the cache? `clock` is injectable for tests."""

    def __init__(self, min_interval_s: float = DEFAULT_MIN_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic):
        self.min_interval_s = min_interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._last_trim: Dict[int, float] = {}
        self._unloaded: Set[int] = set()
        self.skipped = 0

    def note_unloaded(self, gpu: Optional[int]) -> None:
        if gpu is not None:
            with self._lock:
                self._unloaded.add(gpu)

    def should_trim(self, gpu: Optional[int], force: bool) -> bool:
        if gpu is None or force:
            return True
        now = self._clock()
        with self._lock:
            last = self._last_trim.get(gpu)
            if last is not None and now - last < self.min_interval_s:
                self.skipped += 1
                return False
            if gpu not in self._unloaded and last is not None and now - last < 2 * self.min_interval_s:
                self.skipped += 1  # nothing freed here: the periodic trim waits twice as long
                return False
            self._last_trim[gpu] = now
            self._unloaded.discard(gpu)
            return True


def patch_soft_empty_cache(model_management, policy: Optional[CacheTrimPolicy] = None) -> CacheTrimPolicy:
    original = model_management.soft_empty_cache
    existing = getattr(original, "_multigpu_policy", None)
    if isinstance(existing, CacheTrimPolicy):
        return existing
    policy = policy or CacheTrimPolicy()
    coalesced = CoalescedCall(original)

    def soft_empty_cache(force=False):
        if policy.should_trim(bound_gpu(), force):
            coalesced(force)

    soft_empty_cache._multigpu_original = original
    soft_empty_cache._multigpu_policy = policy
    model_management.soft_empty_cache = soft_empty_cache

    loaded_model = getattr(model_management, "LoadedModel", None)
    if loaded_model is not None and not hasattr(loaded_model.model_unload, "_multigpu_original"):
        stock_unload = loaded_model.model_unload

        def model_unload(self, *args, **kwargs):
            unloaded = stock_unload(self, *args, **kwargs)
            if unloaded:
                policy.note_unloaded(bound_gpu())
            return unloaded

        model_unload._multigpu_original = stock_unload
        loaded_model.model_unload = model_unload
    return policy
