"""One worker thread per GPU: bind the device, warm up, then run prompts from its queue."""
from __future__ import annotations

import logging
import threading
import traceback
from typing import Callable, Optional, Tuple

from .executor import ExecutionResult, Executor
from .history import HistoryStore
from .metrics import PoolMetrics
from .queues import GpuQueues
from .retry import run_with_oom_retry
from .task import Task

log = logging.getLogger("multigpu.worker")

# How often an idle worker wakes to apply /free requests and write its metrics line.
_IDLE_POLL_SECONDS = 1.0


class GpuWorker:
    def __init__(
        self,
        gpu_id: int,
        *,
        queues: GpuQueues,
        executor: Executor,
        history: HistoryStore,
        metrics: PoolMetrics,
        clock: Callable[[], float],
        on_queue_changed: Callable[[], None],
        oom_retries: int,
    ):
        self.gpu_id = gpu_id
        self._queues = queues
        self._executor = executor
        self._history = history
        self._metrics = metrics
        self._clock = clock
        self._changed = on_queue_changed
        self._oom_retries = oom_retries
        self._stopping = threading.Event()
        self._free_lock = threading.Lock()
        self._free_request: Optional[Tuple[bool, bool]] = None
        self.warmed = threading.Event()
        self.state = "starting"
        self.reason = f"GPU {gpu_id}: worker starting"
        self.thread = threading.Thread(target=self._run, name=f"gpu-worker-{gpu_id}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stopping.set()

    @property
    def alive(self) -> bool:
        return self.thread.is_alive() and self.state != "failed"

    @property
    def ready(self) -> bool:
        return self.state == "ready" and self.thread.is_alive()

    def request_free(self, unload_models: bool, free_memory: bool) -> None:
        with self._free_lock:
            old = self._free_request or (False, False)
            self._free_request = (old[0] or unload_models, old[1] or free_memory)

    # ---- the thread ------------------------------------------------------------------------
    def _run(self) -> None:
        gpu = self.gpu_id
        try:
            self._executor.bind_thread(gpu)
            self.state, self.reason = "warming", f"GPU {gpu}: warming up"
            self._executor.warmup(gpu)
        except BaseException as error:  # a broken GPU must show in /healthz, not kill the process
            self.state, self.reason = "failed", f"GPU {gpu}: warmup failed: {error!r}"
            log.error("%s\n%s", self.reason, traceback.format_exc())
            self.warmed.set()
            return
        self.state, self.reason = "ready", f"GPU {gpu}: ready"
        self._metrics.set_ready(gpu, True)
        self.warmed.set()
        log.info("GPU %d warmed up and ready", gpu)
        while not self._stopping.is_set():
            self._apply_free_request()
            task = self._queues.take(gpu, timeout=_IDLE_POLL_SECONDS)
            if task is not None:
                try:
                    self._run_task(task)
                finally:
                    self._finish()
            self._metrics.maybe_log(gpu)
        self.state, self.reason = "stopped", f"GPU {gpu}: stopped"

    def _finish(self) -> None:
        if self._queues.finish(self.gpu_id):
            self._changed()

    def _apply_free_request(self) -> None:
        with self._free_lock:
            request, self._free_request = self._free_request, None
        if request is not None:
            unload_models, free_memory = request
            try:
                self._executor.free(self.gpu_id, unload_models=unload_models, free_memory=free_memory)
            except Exception:
                log.exception("GPU %d: /free failed", self.gpu_id)

    def _run_task(self, task: Task) -> None:
        gpu = self.gpu_id
        started = self._clock()
        _, pending = self._queues.counts(gpu)
        self._metrics.task_started(gpu, max(started - task.enqueued_at, 0.0), pending)
        self._changed()
        try:
            result, ooms = run_with_oom_retry(
                lambda last: self._execute_guarded(task, last),
                lambda: self._executor.recover_from_oom(gpu),
                task.prompt_id,
                retries=self._oom_retries,
            )
        except Exception as error:  # recovery itself failed: report the prompt, keep the GPU
            log.exception("GPU %d: OOM recovery for prompt %s failed", gpu, task.prompt_id)
            result, ooms = _failure(task, error), 1
        elapsed = self._clock() - started
        self._history.record(task, result, gpu)
        outcome = "interrupted" if result.interrupted else ("success" if result.success else "error")
        self._metrics.task_finished(gpu, elapsed, outcome, ooms)
        # As ComfyUI's prompt_worker: the queue update (status) goes out before the client hears
        # that its prompt is done.
        self._finish()
        try:
            self._executor.announce_done(gpu, task, result)
        except Exception:
            log.exception("GPU %d: could not announce the end of prompt %s", gpu, task.prompt_id)

    def _execute_guarded(self, task: Task, last_attempt: bool) -> ExecutionResult:
        """An executor that raises must not kill the worker: the prompt fails, the GPU goes on."""
        try:
            return self._executor.execute(self.gpu_id, task, last_attempt=last_attempt)
        except Exception as error:
            log.exception("GPU %d: prompt %s raised", self.gpu_id, task.prompt_id)
            return _failure(task, error)


def _failure(task: Task, error: BaseException) -> ExecutionResult:
    message = {"prompt_id": task.prompt_id, "exception_message": str(error),
               "exception_type": type(error).__name__}
    return ExecutionResult(success=False, messages=[("execution_error", message)], error=str(error))
