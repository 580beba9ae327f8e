"""Device selection and cache emptying per worker thread.

`get_torch_device` targets comfy/model_management.py (v0.8.0) `get_torch_device`, which returns
`torch.device(torch.cuda.current_device())`; `vae_device`, `text_encoder_device`,
`intermediate_device`, `unload_all_models` and model loading all call it. `torch.cuda.set_device`
already makes `current_device()` per host thread (the CUDA runtime keeps the current device per
thread), and the patch returns the bound GPU explicitly so a custom node that changes the current
device cannot move later loads.

`soft_empty_cache` targets comfy/model_management.py `soft_empty_cache`. `torch.cuda.empty_cache()`
has no device argument: it releases the unused cached blocks of every GPU the process touched
(both the native caching allocator and the cudaMallocAsync backend ComfyUI enables by default loop
over all devices, and the async backend synchronizes each one first). Blocks in use by other
workers are never freed, so it is safe, but it makes the calling thread wait for the other GPUs'
queued work and makes them allocate anew. We keep ComfyUI's calls (needed after unloading a model)
but coalesce them: a call that arrives while another thread is emptying waits, and skips its own
run if a run that started after it arrived has completed meanwhile.
"""
from __future__ import annotations

import threading
from typing import Callable

from .worker_binding import bound_gpu


def worker_device(torch, device_type: str, gpu_id: int):
    """The torch device worker `gpu_id` computes on. `device_type` "cpu" is the launcher's CPU
    rehearsal (COMFY_MULTI_GPU_DEVICE=cpu): every worker shares the CPU, nothing else changes."""
    return torch.device("cuda", gpu_id) if device_type == "cuda" else torch.device(device_type)


def select_device(torch, device_type: str, gpu_id: int) -> None:
    """Called on the worker thread by ComfyExecutor.bind_thread."""
    if device_type == "cuda":
        torch.cuda.set_device(gpu_id)


def patch_get_torch_device(model_management, torch, device_type: str = "cuda") -> None:
    original = model_management.get_torch_device
    if getattr(original, "_multigpu_original", None):
        return

    def get_torch_device():
        gpu = bound_gpu()
        if gpu is None:
            return original()
        return worker_device(torch, device_type, gpu)

    get_torch_device._multigpu_original = original
    model_management.get_torch_device = get_torch_device


class CoalescedCall:
    """Run `function` at most once per wave of concurrent callers.

    A caller skips its own run only if a run that *started after it arrived* has completed, so
    whatever it freed before calling was seen by that run.
    """

    def __init__(self, function: Callable[..., None]):
        self._function = function
        self._lock = threading.Lock()
        self.runs = 0  # runs started; runs are serialised by the lock

    def __call__(self, *args, **kwargs) -> bool:
        arrived_after = self.runs
        with self._lock:
            if self.runs > arrived_after:
                return False
            self.runs += 1
            self._function(*args, **kwargs)
            return True


def patch_soft_empty_cache(model_management) -> CoalescedCall:
    original = model_management.soft_empty_cache
    if isinstance(getattr(original, "_multigpu_coalesced", None), CoalescedCall):
        return original._multigpu_coalesced
    coalesced = CoalescedCall(original)

    def soft_empty_cache(force=False):
        coalesced(force)

    soft_empty_cache._multigpu_original = original
    soft_empty_cache._multigpu_coalesced = coalesced
    model_management.soft_empty_cache = soft_empty_cache
    return coalesced
