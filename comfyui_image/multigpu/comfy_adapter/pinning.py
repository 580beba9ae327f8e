"""Pinned memory through the per-GPU ledger (core/pinned_memory.py; issue 22 item 8).

Targets comfy/model_management.py (v0.8.0) `pin_memory(tensor)` and `unpin_memory(tensor)`:
the same checks and the same cudaHostRegister/cudaHostUnregister calls, but the budget and the
count live in the ledger, under its lock, per GPU. `TOTAL_PINNED_MEMORY` is kept equal to what is
registered, for code that reads it.
"""
from __future__ import annotations

import logging

from ..core.pinned_memory import PinnedLedger, split_budget
from .worker_binding import bound_gpu

log = logging.getLogger("multigpu.pinning")


def patch_pinning(mm, torch, ledger: PinnedLedger, *, weights_cache_bytes: int, num_gpus: int) -> None:
    if getattr(mm.pin_memory, "_multigpu_original", None):
        return
    ledger.budget_per_gpu = split_budget(mm.MAX_PINNED_MEMORY, weights_cache_bytes, num_gpus)
    stock_pin, stock_unpin = mm.pin_memory, mm.unpin_memory

    def pinnable(tensor) -> bool:
        return (mm.MAX_PINNED_MEMORY > 0 and mm.is_device_cpu(tensor.device)
                and tensor.is_contiguous() and tensor.data_ptr() != 0)

    def pin_memory(tensor):
        if type(tensor).__name__ not in mm.PINNING_ALLOWED_TYPES or not pinnable(tensor):
            return False
        ptr, size = tensor.data_ptr(), tensor.nbytes

        def register() -> bool:
            if tensor.is_pinned():  # pinned outside ComfyUI; CUDA would error (see stock)
                return False
            if torch.cuda.cudart().cudaHostRegister(ptr, size, 1) == 0:
                return True
            log.warning("Pin error.")
            mm.discard_cuda_async_error()
            return False

        pinned = ledger.pin(ptr, size, bound_gpu(), register)
        mm.TOTAL_PINNED_MEMORY = ledger.total_registered()
        return pinned

    def unpin_memory(tensor):
        if mm.MAX_PINNED_MEMORY <= 0 or not mm.is_device_cpu(tensor.device):
            return False
        ptr = tensor.data_ptr()

        def unregister() -> bool:
            if torch.cuda.cudart().cudaHostUnregister(ptr) == 0:
                return True
            log.warning("Unpin error.")
            mm.discard_cuda_async_error()
            return False

        unpinned = ledger.unpin(ptr, tensor.nbytes, bound_gpu(), unregister)
        mm.TOTAL_PINNED_MEMORY = ledger.total_registered()
        return unpinned

    pin_memory._multigpu_original = stock_pin
    unpin_memory._multigpu_original = stock_unpin
    mm.pin_memory, mm.unpin_memory = pin_memory, unpin_memory
