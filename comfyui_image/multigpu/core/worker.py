"""One worker thread per GPU: bind the device, warm up, then run prompts from its queue."""
from __future__ import annotations

import logging
import threading
import traceback
from typing import Callable, Optional, Tuple

from .breaker import GpuBreaker
from .executor import ExecutionResult, Executor
from .faults import GPU as GPU_FAULT, classify_result
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
        breaker: Optional[GpuBreaker] = None,
    ):
        self.gpu_id = gpu_id
        self._queues = queues
        self._executor = executor
        self._history = history
        self._metrics = metrics
        self._clock = clock
        self._changed = on_queue_changed
        self._oom_retries = oom_retries
        self.breaker = breaker or GpuBreaker(gpu_id, threshold=0, probe_seconds=1.0,
                                             probe_max_seconds=1.0, clock=clock)
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
        # Logged before `warmed` lets the server open its port, so the line is in the log by the
        # time anyone can reach the server (the CPU rehearsal read the log without it).
        log.info("GPU %d warmed up and ready", gpu)
        self.warmed.set()
        while not self._stopping.is_set():
            self.step(_IDLE_POLL_SECONDS)
        self.state, self.reason = "stopped", f"GPU {gpu}: stopped"

    def step(self, timeout: float) -> None:
        """One turn of the worker loop: apply /free, run the next prompt if any, log metrics."""
        self._apply_free_request()
        task = self.next_task(timeout)
        if task is not None:
            try:
                started = self.begin(task)
                result, ooms = self.attempt(task)
                self.complete(task, started, result, ooms)
            finally:
                self._finish()  # a no-op once complete() freed the slot
        self._metrics.maybe_log(self.gpu_id)

    def next_task(self, timeout: float) -> Optional[Task]:
        """The next prompt for this GPU, or None after `timeout`. While the GPU is out of service
        it takes nothing and probes the GPU when the breaker says so."""
        if self.breaker.open:
            if self.breaker.probe_due():
                self.probe()
            if self.breaker.open:
                self._stopping.wait(timeout)
                return None
        return self._queues.take(self.gpu_id, timeout=timeout)

    def probe(self) -> bool:
        """Run the executor's probe; True (and back in service) when it passed."""
        gpu = self.gpu_id
        try:
            self._executor.probe(gpu)
            error = None
        except Exception as failure:
            error = f"{type(failure).__name__}: {failure}"
        back = self.breaker.record_probe(error)
        self._metrics.probed(gpu, error is None)
        if back:
            self._queues.set_in_service(gpu, True)
            self._metrics.set_breaker_open(gpu, False)
            log.warning("GPU %d: probe passed, back in service on probation", gpu)
            self._changed()
        else:
            log.error("GPU %d: probe failed, still out of service: %s", gpu, error)
        return back

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

    def begin(self, task: Task) -> float:
        """Record the start of `task` (taken by next_task); returns the start time."""
        gpu = self.gpu_id
        started = self._clock()
        _, pending = self._queues.counts(gpu)
        self._metrics.task_started(gpu, max(started - task.enqueued_at, 0.0), pending)
        self._changed()
        return started

    def attempt(self, task: Task) -> Tuple[ExecutionResult, int]:
        """Run `task`, retrying after an OOM; returns the result and how many attempts ran out of
        memory."""
        gpu = self.gpu_id
        try:
            return run_with_oom_retry(
                lambda last: self._execute_guarded(task, last),
                lambda: self._executor.recover_from_oom(gpu),
                task.prompt_id,
                retries=self._oom_retries,
            )
        except Exception as error:  # recovery itself failed: report the prompt, keep the GPU
            log.exception("GPU %d: OOM recovery for prompt %s failed", gpu, task.prompt_id)
            return _failure(task, error), 1

    def complete(self, task: Task, started: float, result: ExecutionResult, ooms: int) -> None:
        """Record the outcome (history, metrics, breaker), free the GPU's slot, tell the client."""
        gpu = self.gpu_id
        elapsed = self._clock() - started
        self._history.record(task, result, gpu)
        outcome = "interrupted" if result.interrupted else ("success" if result.success else "error")
        self._metrics.task_finished(gpu, elapsed, outcome, ooms)
        self._count_fault(result)
        # As ComfyUI's prompt_worker: the queue update (status) goes out before the client hears
        # that its prompt is done.
        self._finish()
        try:
            self._executor.announce_done(gpu, task, result)
        except Exception:
            log.exception("GPU %d: could not announce the end of prompt %s", gpu, task.prompt_id)

    def _count_fault(self, result: ExecutionResult) -> None:
        fault = classify_result(result)
        if result.success:
            self.breaker.record_success()
        if fault != GPU_FAULT:
            return
        gpu = self.gpu_id
        self._metrics.gpu_fault(gpu)
        if self.breaker.record_gpu_fault(result.error or "unknown error"):
            self._queues.set_in_service(gpu, False)
            self._metrics.set_breaker_open(gpu, True)
            log.error("%s; routing and stealing stop until a probe passes", self.breaker.reason())

    def _execute_guarded(self, task: Task, last_attempt: bool) -> ExecutionResult:
        """An executor that raises must not kill the worker: the prompt fails, the GPU goes on
        (and the failure counts against the GPU: the executor reports node errors itself)."""
        try:
            return self._executor.execute(self.gpu_id, task, last_attempt=last_attempt)
        except Exception as error:
            log.exception("GPU %d: prompt %s raised", self.gpu_id, task.prompt_id)
            return _failure(task, error)


def _failure(task: Task, error: BaseException) -> ExecutionResult:
    message = {"prompt_id": task.prompt_id, "exception_message": str(error),
               "exception_type": type(error).__name__}
    return ExecutionResult(success=False, messages=[("execution_error", message)],
                           error=f"{type(error).__name__}: {error}", gpu_fault=True)
