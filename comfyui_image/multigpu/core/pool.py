"""GpuPool: the facade the HTTP layer and ComfyUI's queue replacement use."""
from __future__ import annotations

import logging
import time
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from .breaker import GpuBreaker
from .executor import Executor
from .history import HistoryStore
from .interrupt_scope import InterruptRequest, Interruption, interrupt_targets
from .metrics import PoolMetrics
from .queues import Chooser, GpuQueues
from .request_context import current_request
from .routing import choose_gpu
from .sessions import SessionActivity, expose_sessions
from .settings import PoolSettings
from .task import Task
from .worker import GpuWorker

log = logging.getLogger("multigpu.pool")

# A readiness check returns None when fine, or the reason the pod must not take traffic.
ReadinessCheck = Callable[[], Optional[str]]


def _stock_item(task: Task) -> list:
    return list(task.queue_item())


class GpuPool:
    def __init__(
        self,
        executor: Executor,
        num_gpus: int,
        *,
        settings: Optional[PoolSettings] = None,
        on_queue_changed: Optional[Callable[[], None]] = None,
        clock: Callable[[], float] = time.monotonic,
        readiness_checks: Sequence[ReadinessCheck] = (),
        chooser: Optional[Chooser] = None,
        system_devices: Optional[Callable[[], List[dict]]] = None,
    ):
        """`system_devices` lists every GPU for GET /system_stats (the adapter's, from ComfyUI's
        memory functions); None keeps the stock answer."""
        if num_gpus < 1:
            raise ValueError(f"num_gpus must be >= 1, got {num_gpus}")
        self.num_gpus = num_gpus
        self.settings = settings or PoolSettings()
        self._executor = executor
        self._notify = on_queue_changed or (lambda: None)
        self._readiness_checks = list(readiness_checks)
        self.system_devices = system_devices
        s = self.settings
        # The routing policy; replaceable so the benchmark can compare with round-robin.
        self._choose: Chooser = chooser or (
            lambda loads, models: choose_gpu(loads, models, s.affinity_slack))
        self.metrics = PoolMetrics(
            num_gpus, clock=clock, log_every_prompts=s.log_every_prompts,
            log_interval_seconds=s.log_interval_seconds,
            initial_exec_seconds=s.initial_exec_seconds, ewma_alpha=s.exec_ewma_alpha,
        )
        self.sessions = SessionActivity(s.session_activity_seconds, clock=clock)
        expose_sessions(self.metrics.registry, self.sessions)
        self.history = HistoryStore()
        self._queues = GpuQueues(num_gpus, self.metrics.exec_estimate)
        self._workers = [
            GpuWorker(gpu, queues=self._queues, executor=executor, history=self.history,
                      metrics=self.metrics, clock=clock, on_queue_changed=self._queue_changed,
                      oom_retries=s.oom_retries,
                      breaker=GpuBreaker(gpu, threshold=s.breaker_threshold,
                                         probe_seconds=s.breaker_probe_seconds,
                                         probe_max_seconds=s.breaker_probe_max_seconds, clock=clock))
            for gpu in range(num_gpus)
        ]
        self._started = False

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        if self._started:
            return
        self._started = True
        log.info("Multi-GPU mode ENABLED with %d GPUs", self.num_gpus)
        log.info("Created %d task queues", self.num_gpus)
        for worker in self._workers:
            worker.start()
            log.info("Started worker thread for GPU %d", worker.gpu_id)

    def wait_until_warm(self, timeout: Optional[float] = None) -> bool:
        """True once every worker finished warming up (successfully or not) within `timeout`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for worker in self._workers:
            remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            if not worker.warmed.wait(remaining):
                return False
        return True

    def stop(self, timeout: float = 5.0) -> None:
        for worker in self._workers:
            worker.stop()
        self._queues.close()
        for worker in self._workers:
            if worker.thread.is_alive():
                worker.thread.join(timeout)

    # ---- queue -----------------------------------------------------------------------------
    def submit(self, task: Task, target_gpu: Optional[int] = None) -> int:
        gpu = self._queues.submit(task, target_gpu, self._choose)
        if current_request().browser:
            self.sessions.seen(task.client_id)
        self._queue_changed()
        return gpu

    def _queue_changed(self) -> None:
        for gpu in range(self.num_gpus):
            self.metrics.set_queue_depth(gpu, self._queues.counts(gpu)[1])
        try:
            self._notify()
        except Exception:
            log.exception("queue change notification failed")

    def queue_snapshot(self, gpu_id: Optional[int] = None) -> Dict[str, list]:
        """GET /queue in ComfyUI's shape, for one GPU or all."""
        running, pending = self._queues.snapshot(gpu_id)
        pending = sorted(pending, key=lambda t: t.number) if gpu_id is None else pending
        return {
            "queue_running": [_stock_item(t) for t in running],
            "queue_pending": [_stock_item(t) for t in pending],
        }

    def queue_all(self) -> Dict[str, object]:
        queues = []
        for gpu in range(self.num_gpus):
            running, pending = self._queues.snapshot(gpu)
            queues.append({
                "gpu_id": gpu,
                "queue_running": [_stock_item(t) for t in running],
                "queue_pending": [_stock_item(t) for t in pending],
                "running_count": len(running),
                "pending_count": len(pending),
                **self._workers[gpu].breaker.describe(),
            })
        return {
            "queues": queues,
            "total_running": sum(q["running_count"] for q in queues),
            "total_pending": sum(q["pending_count"] for q in queues),
        }

    def tasks_remaining(self, gpu_id: Optional[int] = None) -> int:
        if gpu_id is None:
            return self._queues.remaining()
        running, pending = self._queues.counts(gpu_id)
        return running + pending

    def delete_pending(self, prompt_ids: Iterable[str], gpu_id: Optional[int] = None) -> List[str]:
        deleted = self._queues.delete(prompt_ids, gpu_id)
        self._queue_changed()
        return deleted

    def clear_pending(self, gpu_id: Optional[int] = None) -> int:
        count = self._queues.clear(gpu_id)
        self._queue_changed()
        return count

    def running_prompt_ids(self) -> Dict[int, str]:
        return self._queues.running_ids()

    def locate(self, prompt_id: str) -> Optional[Tuple[int, str]]:
        return self._queues.locate(prompt_id)

    # ---- control ---------------------------------------------------------------------------
    def interrupt(self, request: Optional[InterruptRequest] = None) -> Interruption:
        """Stop the running prompts `request` names (core/interrupt_scope.py). A pending prompt is
        left queued (stock behaviour; remove it with POST /queue {"delete": [...]})."""
        request = request or InterruptRequest()
        return self._queues.with_running(lambda running: self._interrupt_matching(running, request))

    def _interrupt_matching(self, running: Dict[int, Task], request: InterruptRequest) -> Interruption:
        # Runs under the queue lock, so the prompt on each GPU cannot change before the flag is
        # set; the executor clears the flag when it starts its next prompt.
        outcome = interrupt_targets(running, request)
        for gpu in outcome.gpus:
            self._executor.interrupt(gpu, running[gpu].prompt_id)
        return outcome

    def request_free(self, gpu_id: Optional[int] = None, *, unload_models: bool,
                     free_memory: bool) -> List[int]:
        gpus = list(range(self.num_gpus)) if gpu_id is None else [gpu_id]
        for gpu in gpus:
            self._workers[gpu].request_free(unload_models, free_memory)
        self._queues.wake()
        return gpus

    def take_out_of_service(self, gpu_id: int, reason: str) -> None:
        """Open GPU `gpu_id`'s breaker now (its worker process died: not a guess): routing skips
        it, the other GPUs steal its unpinned prompts, pinned ones wait for a passed probe."""
        if self._workers[gpu_id].breaker.trip(reason):
            self._queues.set_in_service(gpu_id, False)
            self.metrics.set_breaker_open(gpu_id, True)
            log.error("GPU %d out of service: %s", gpu_id, reason)
            self._queue_changed()

    # ---- health ----------------------------------------------------------------------------
    @property
    def workers(self) -> List[GpuWorker]:
        return list(self._workers)

    def health(self) -> Tuple[bool, str]:
        """Process alive, every worker thread alive, and at least one GPU in service: when every
        GPU's breaker is open the pod is unhealthy, so Kubernetes restarts it."""
        dead = [w for w in self._workers if not w.alive]
        if not self._started:
            return False, "workers not started"
        if dead:
            return False, "; ".join(w.reason for w in dead)
        broken = [w for w in self._workers if w.breaker.open]
        if len(broken) == len(self._workers):
            return False, "every GPU is out of service: " + "; ".join(w.breaker.reason() for w in broken)
        if broken:
            return True, (f"{self.num_gpus - len(broken)} of {self.num_gpus} GPUs in service; "
                          + "; ".join(w.breaker.reason() for w in broken))
        return True, f"{self.num_gpus} workers alive"

    def readiness(self) -> Tuple[bool, str]:
        """Ready when every GPU warmed up, every check passes and the queue is not too deep."""
        healthy, reason = self.health()
        if not healthy:
            return False, reason
        waiting = [w for w in self._workers if not w.ready]
        if waiting:
            return False, "; ".join(w.reason for w in waiting)
        for check in self._readiness_checks:
            problem = check()
            if problem:
                return False, problem
        limit = self.settings.max_queue_depth
        pending = self._queues.remaining()
        if limit and pending > limit:
            return False, f"{pending} prompts queued, above COMFY_MAX_QUEUE_DEPTH={limit}"
        broken = [w.gpu_id for w in self._workers if w.breaker.open]
        if broken:
            return True, (f"{self.num_gpus - len(broken)} of {self.num_gpus} GPUs ready; out of "
                          f"service: {', '.join(f'GPU {g}' for g in broken)}")
        return True, f"{self.num_gpus} GPUs ready"
