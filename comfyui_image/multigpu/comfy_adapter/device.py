"""Device selection and cache emptying per worker thread.

`get_torch_device` targets comfy/model_management.py (v0.8.0) `get_torch_device`, which returns
`torch.device(torch.cuda.current_device())`; `vae_device`, `text_encoder_device`,
`intermediate_device`, `unload_all_models` and model loading all call it. `torch.cuda.set_device`
already makes `current_device()` per host thread (the CUDA runtime keeps the current device per
thread), and the patch returns the bound GPU explicitly so a custom node that changes the current
device cannot move later loads.

`CoalescedCall` serves cache_trim.py, which decides when `soft_empty_cache` runs.
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


def patch_get_torch_device(model_management, torch, device_type: str = "cuda",
                           on_unbound: Callable[[], None] = lambda: None) -> None:
    """`on_unbound` is called when a thread no worker bound asks (thread_binding.py warns)."""
    original = model_management.get_torch_device
    if getattr(original, "_multigpu_original", None):
        return

    def get_torch_device():
        gpu = bound_gpu()
        if gpu is None:
            on_unbound()
            return original()
        return worker_device(torch, device_type, gpu)

    get_torch_device._multigpu_original = original
    model_management.get_torch_device = get_torch_device


class CoalescedCall:
    """Run `function` at most once per wave of concurrent callers (`torch.cuda.empty_cache` frees
    every GPU's unused blocks, so a call that arrives while another runs can share its result).

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
