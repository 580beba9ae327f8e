"""Which GPU the current code works for, and state kept once per GPU.

Every per-GPU patch keys its state by `bound_gpu()`. `ComfyExecutor.bind_thread` binds a worker
thread once. The binding is a context variable, not a thread-local, so it follows the prompt into
the asyncio tasks `PromptExecutor.execute` creates and into `asyncio.to_thread` helpers that async
nodes use (both copy the context). Code on any other thread (aiohttp's, ComfyUI's idle
prompt_worker, the main thread) answers None and shares one "unbound" slot.
"""
from __future__ import annotations

import contextvars
import threading
from typing import Callable, Dict, Generic, Optional, TypeVar

_bound: "contextvars.ContextVar[Optional[int]]" = contextvars.ContextVar(
    "multigpu_bound_gpu", default=None
)

T = TypeVar("T")


def bind_current_thread(gpu_id: int) -> None:
    """Call at the top of the worker thread, before anything copies its context."""
    _bound.set(gpu_id)


def bound_gpu() -> Optional[int]:
    return _bound.get()


class PerGpuSlots(Generic[T]):
    """One `factory()` object per GPU, plus one for code not bound to a GPU."""

    def __init__(self, factory: Callable[[], T]):
        self._factory = factory
        self._lock = threading.Lock()
        self._slots: Dict[Optional[int], T] = {}

    def for_gpu(self, gpu_id: Optional[int]) -> T:
        with self._lock:
            slot = self._slots.get(gpu_id)
            if slot is None:
                slot = self._slots[gpu_id] = self._factory()
            return slot

    def keys(self) -> "list[Optional[int]]":
        with self._lock:
            return list(self._slots)

    def current(self) -> T:
        return self.for_gpu(bound_gpu())
