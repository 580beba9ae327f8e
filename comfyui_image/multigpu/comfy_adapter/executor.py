"""ComfyExecutor: the core's Executor protocol (core/executor.py) over ComfyUI's PromptExecutor.

One `execution.PromptExecutor` per GPU, created on that GPU's worker thread with the cache type
and arguments main.py `prompt_worker` would use. ComfyUI modules are imported inside the methods:
they run on worker threads after main.py has imported everything.
"""
from __future__ import annotations

import gc
import logging
import threading
import time
from typing import Callable, Dict, Optional

from ..core.executor import ExecutionResult
from ..core.keyed_locks import KeyedLocks
from ..core.task import Task
from .device import select_device
from .filename_locks import release_after_node
from .interrupt import GpuInterruptFlags
from .prompt_executor import cache_settings, make_prompt_executor_class
from .warmup import probe_gpu, warm_up_gpu
from .worker_binding import bind_current_thread

log = logging.getLogger("multigpu.comfy_executor")

# main.py prompt_worker collects garbage and empties the CUDA cache at most this often.
GC_INTERVAL_SECONDS = 10.0


class ComfyExecutor:
    def __init__(self, *, interrupt_flags: GpuInterruptFlags, file_locks: KeyedLocks,
                 server: Callable[[], object], device_type: str = "cuda"):
        """`server` returns ComfyUI's PromptServer (it exists only once main.py created it);
        `device_type` is "cuda", or "cpu" for the launcher's CPU rehearsal."""
        self._device_type = device_type
        self._flags = interrupt_flags
        self._locks = file_locks
        self._server = server
        self._executors: Dict[int, object] = {}
        self._interrupted: Dict[int, str] = {}  # the prompt each GPU's latest interrupt was for
        self._gc_lock = threading.Lock()
        self._last_gc = 0.0

    # ---- worker thread setup ---------------------------------------------------------------
    def bind_thread(self, gpu_id: int) -> None:
        import torch
        import execution
        import comfy.model_management
        from comfy.cli_args import args

        bind_current_thread(gpu_id)
        select_device(torch, self._device_type, gpu_id)
        cls = make_prompt_executor_class(execution, comfy.model_management)
        cache_type, cache_args = cache_settings(args, execution)
        self._executors[gpu_id] = cls(self._server(), cache_type=cache_type, cache_args=cache_args)
        log.info("GPU %d: worker bound to %s", gpu_id, comfy.model_management.get_torch_device())

    def warmup(self, gpu_id: int) -> None:
        import torch

        warm_up_gpu(torch, gpu_id, self._device_type)

    def probe(self, gpu_id: int) -> None:
        import torch

        probe_gpu(torch, gpu_id, self._device_type)

    # ---- prompts ---------------------------------------------------------------------------
    def execute(self, gpu_id: int, task: Task, *, last_attempt: bool) -> ExecutionResult:
        executor = self._executors[gpu_id]
        server = self._server()
        server.last_prompt_id = task.prompt_id  # as main.py prompt_worker does, for progress hooks
        extra_data = dict(task.extra_data)
        extra_data.update(task.sensitive)
        executor.begin_attempt(hold_back_oom=not last_attempt)
        if self._interrupted.pop(gpu_id, None) == task.prompt_id:
            # The interrupt came for this prompt before this attempt started (after the queue
            # handed it out, or during an OOM recovery): PromptExecutor's clear as it starts must
            # not wipe it. One left from an earlier prompt does not match and is cleared as stock.
            self._flags.keep_through_next_clear(gpu_id)
        started = time.perf_counter()
        try:
            executor.execute(task.prompt, task.prompt_id, extra_data, task.outputs_to_execute)
        finally:
            self._flags.keep_through_next_clear(gpu_id, False)
            release_after_node(self._locks)
        log.info("GPU %d: prompt %s executed in %.2f seconds", gpu_id, task.prompt_id,
                 time.perf_counter() - started)
        result = _result_of(executor)
        self._collect_garbage_if_due()
        return result

    def recover_from_oom(self, gpu_id: int) -> None:
        import comfy.model_management as mm

        mm.unload_all_models()  # this GPU's models only: per-GPU model list and device
        gc.collect()
        mm.soft_empty_cache(True)  # forced past cache_trim.py's rate limit: the retry needs it

    def announce_done(self, gpu_id: int, task: Task, result: ExecutionResult) -> None:
        client_id = task.client_id
        if client_id is not None:  # main.py prompt_worker's final "executing" with node None
            self._server().send_sync("executing", {"node": None, "prompt_id": task.prompt_id}, client_id)

    def interrupt(self, gpu_id: int, prompt_id: str) -> None:
        self._interrupted[gpu_id] = prompt_id  # first: execute() reads it before the flag's clear
        self._flags.set(gpu_id, True)

    def free(self, gpu_id: int, *, unload_models: bool, free_memory: bool) -> None:
        """main.py prompt_worker's handling of the /free flags, for this GPU."""
        import comfy.model_management as mm

        if unload_models or free_memory:
            mm.unload_all_models()
        if free_memory:
            self._executors[gpu_id].reset()
        gc.collect()
        mm.soft_empty_cache(unload_models or free_memory)  # asked for: past the rate limit

    def _collect_garbage_if_due(self) -> None:
        # gc.collect is process-wide; one worker doing it every interval serves all of them.
        now = time.perf_counter()
        with self._gc_lock:
            if now - self._last_gc < GC_INTERVAL_SECONDS:
                return
            self._last_gc = now
        import comfy.model_management as mm
        import hook_breaker_ac10a0

        gc.collect()
        mm.soft_empty_cache()
        hook_breaker_ac10a0.restore_functions()


def _result_of(executor) -> ExecutionResult:
    messages = list(executor.status_messages)
    events = {event for event, _ in messages}
    interrupted = "execution_interrupted" in events
    failed = interrupted or "execution_error" in events or not executor.success
    error: Optional[str] = None
    for event, data in messages:
        if event == "execution_error":
            error = str(data.get("exception_message", "")).strip() or data.get("exception_type")
    history = executor.history_result or {}
    return ExecutionResult(
        success=not failed,
        outputs=history.get("outputs", {}),
        meta=history.get("meta", {}),
        messages=messages,
        out_of_memory=executor.out_of_memory,
        interrupted=interrupted,
        error=error,
    )
