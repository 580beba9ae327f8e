"""Threads a worker starts compute on the worker's GPU (issue 22 item 5).

The GPU binding (worker_binding.py) is a context variable, and the CUDA current device is per host
thread. Neither reaches a plain `threading.Thread` (new threads start with an empty context and
device 0), nor a task a worker hands to a `ThreadPoolExecutor` (its threads are shared and reused,
and `loop.run_in_executor` submits there too). A custom node's helper thread would then compute on
GPU 0 and register models in the unbound list. Two process-wide patches carry the binding:

- `threading.Thread.start`: a thread started by a bound thread runs bound to the same GPU;
- `concurrent.futures.ThreadPoolExecutor.submit`: a task submitted by a bound thread runs bound
  to the submitter's GPU, and the pool thread gets its previous binding and device back after it.

Code on threads nobody bound (started before the workers, or by the HTTP thread) stays unbound;
`UnboundDeviceWarning` logs, once per thread, when such a thread asks for the device while
prompts are executing. Garbage-collection finalizers run on whichever thread collects; the one
that matters (LoadedModel's) is made thread-safe in loaded_models.py.
"""
from __future__ import annotations

import concurrent.futures
import logging
import sys
import threading
from typing import Callable, Optional, Set

from .worker_binding import _bound, bound_gpu

log = logging.getLogger("multigpu.thread_binding")

Restore = Callable[[], None]

# Set while ThreadPoolExecutor.submit runs: a pool thread it starts serves every submitter, so it
# must not inherit the first submitter's GPU (each task is bound by itself instead).
_submitting = threading.local()


class DeviceBinder:
    """Binds the calling thread to a GPU: the context variable and the CUDA current device.
    `select(gpu)` sets the device; `current()` returns it (None where there is no CUDA)."""

    def __init__(self, select: Callable[[int], None], current: Callable[[], Optional[int]]):
        self._select = select
        self._current = current

    def enter(self, gpu: int) -> Restore:
        token = _bound.set(gpu)
        previous = self._current()
        self._select(gpu)

        def restore() -> None:
            if previous is not None:
                self._select(previous)
            _bound.reset(token)

        return restore


def patch_thread_start(binder: DeviceBinder) -> Restore:
    """Returns the undo."""
    original = threading.Thread.start

    def start(self):
        gpu = bound_gpu()
        if gpu is not None and not getattr(_submitting, "active", False):
            run = self.run

            def bound_run():
                binder.enter(gpu)  # the thread ends bound; nothing to restore
                run()

            self.run = bound_run
        return original(self)

    start._multigpu_original = original
    threading.Thread.start = start

    def undo() -> None:
        threading.Thread.start = original

    return undo


def patch_executor_submit(binder: DeviceBinder) -> Restore:
    """Returns the undo."""
    cls = concurrent.futures.ThreadPoolExecutor
    original = cls.submit

    def submit(self, fn, /, *args, **kwargs):
        gpu = bound_gpu()
        _submitting.active = True
        try:
            if gpu is None:
                return original(self, fn, *args, **kwargs)
            return original(self, _run_bound, binder, gpu, fn, args, kwargs)
        finally:
            _submitting.active = False

    submit._multigpu_original = original
    cls.submit = submit

    def undo() -> None:
        cls.submit = original

    return undo


def _run_bound(binder: DeviceBinder, gpu: int, fn, args, kwargs):
    restore = binder.enter(gpu)
    try:
        return fn(*args, **kwargs)
    finally:
        restore()


class UnboundDeviceWarning:
    """Called by the patched get_torch_device when an unbound thread asks for the device."""

    def __init__(self, is_executing: Callable[[], bool]):
        self._is_executing = is_executing
        self._lock = threading.Lock()
        self._warned: Set[int] = set()

    def __call__(self) -> None:
        thread = threading.current_thread()
        if thread is threading.main_thread() or not self._is_executing():
            return  # the event loop (system_stats, startup) and idle moments are expected
        with self._lock:
            if thread.ident in self._warned:
                return
            self._warned.add(thread.ident)
        caller = sys._getframe(2)
        log.warning("Thread %r, not started by a GPU worker, asked for the torch device while "
                    "prompts run (from %s:%d); it gets the default device, not a worker's GPU",
                    thread.name, caller.f_code.co_filename, caller.f_lineno)
