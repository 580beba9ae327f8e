"""One interrupt flag per GPU instead of ComfyUI's single process-wide flag.

Targets comfy/model_management.py (v0.8.0) `interrupt_current_processing`,
`processing_interrupted` and `throw_exception_if_processing_interrupted`, which share the global
`interrupt_processing`; nodes.py `interrupt_processing` and execution.py
`PromptExecutor.execute_async` (which clears the flag as a prompt starts) call them through the
module, so replacing the module attributes covers every caller.

On a worker thread each function touches that GPU's flag only, so clearing the flag as GPU 1
starts a prompt cannot swallow an interrupt meant for GPU 0. On any other thread (a custom node's
route, the stock /interrupt handler if something bypassed the multi-GPU route) an interrupt does
not set every GPU's flag, which would stop every user's render: it goes to `off_worker`, which
the installation points at the pool's rule for a Cancel that names nothing (core/interrupt_scope.py:
stop what runs only when it is one prompt or one client's prompts). Clearing from such a thread
does nothing (only a worker clears its own flag). The multi-GPU /interrupt route calls
`GpuInterruptFlags.set` for the GPUs it chose. Custom nodes that read the module variable
`interrupt_processing` directly see nothing: a module variable cannot be per thread.
"""
from __future__ import annotations

import logging
import threading
from typing import Callable, Dict, Optional, Set

from .worker_binding import bound_gpu

log = logging.getLogger("multigpu.interrupt")


class GpuInterruptFlags:
    def __init__(self, num_gpus: int):
        self._lock = threading.Lock()
        self._flags: Dict[int, bool] = {gpu: False for gpu in range(num_gpus)}
        self._keep: Set[int] = set()

    def set(self, gpu_id: int, value: bool = True) -> None:
        with self._lock:
            if not value and gpu_id in self._keep:
                self._keep.discard(gpu_id)  # the clear a retry's start makes: keep the interrupt
                return
            self._flags[gpu_id] = value

    def keep_through_next_clear(self, gpu_id: int, keep: bool = True) -> None:
        """Ignore the next clear on `gpu_id` (the one PromptExecutor makes as a prompt starts), so
        an interrupt that arrived while the OOM retry of the same prompt was being prepared still
        stops it; `keep=False` withdraws that once the attempt ended."""
        with self._lock:
            if keep:
                self._keep.add(gpu_id)
            else:
                self._keep.discard(gpu_id)

    def set_all(self, value: bool) -> None:
        with self._lock:
            for gpu in self._flags:
                self._flags[gpu] = value

    def is_set(self, gpu_id: int) -> bool:
        with self._lock:
            return self._flags.get(gpu_id, False)

    def take(self, gpu_id: int) -> bool:
        """True (and cleared) if the flag was set."""
        with self._lock:
            was_set = self._flags.get(gpu_id, False)
            self._flags[gpu_id] = False
            return was_set

    def any_set(self) -> bool:
        with self._lock:
            return any(self._flags.values())


def patch_interrupts(model_management, flags: GpuInterruptFlags,
                     off_worker: Optional[Callable[[], None]] = None) -> None:
    """`off_worker` is called for an interrupt raised on a thread bound to no GPU."""
    if getattr(model_management.interrupt_current_processing, "_multigpu_original", None):
        return
    originals = {
        name: getattr(model_management, name)
        for name in ("interrupt_current_processing", "processing_interrupted",
                     "throw_exception_if_processing_interrupted")
    }

    def interrupt_current_processing(value=True):
        gpu = bound_gpu()
        if gpu is not None:
            flags.set(gpu, value)
        elif value and off_worker is not None:
            off_worker()
        elif value:
            log.warning("An interrupt raised off the GPU workers was ignored: use POST /interrupt "
                        "with a prompt_id, client_id or {\"all\": true}")

    def processing_interrupted():
        gpu = bound_gpu()
        return flags.any_set() if gpu is None else flags.is_set(gpu)

    def throw_exception_if_processing_interrupted():
        gpu = bound_gpu()
        if gpu is not None and flags.take(gpu):
            raise model_management.InterruptProcessingException()

    for function in (interrupt_current_processing, processing_interrupted,
                     throw_exception_if_processing_interrupted):
        function._multigpu_original = originals[function.__name__]
        setattr(model_management, function.__name__, function)
