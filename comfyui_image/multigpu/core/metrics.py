"""Per-GPU metrics: a periodic log line and Prometheus series.

Wait is enqueue-to-start of each prompt (what a user feels), not worker idle time (what the public
fork measured). The log line covers the window since the previous line:
    [GPU 0] tasks=10, success=100.0%, queue=2.5, wait=150ms, exec=15234ms, oom=0
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Callable, List, Optional

from prometheus_client import (CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector,
                               generate_latest)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

log = logging.getLogger("multigpu.metrics")

# Seconds; prompts run from under a second (SD1.5 at 512px) to many minutes (video).
_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 60, 120, 300, 600, 1800)


@dataclass
class _Window:
    started: float
    tasks: int = 0
    successes: int = 0
    ooms: int = 0
    wait_s: List[float] = field(default_factory=list)
    exec_s: List[float] = field(default_factory=list)
    queue_depths: List[int] = field(default_factory=list)


def _mean(values: List[float]) -> float:
    return sum(values) / len(values) if values else 0.0


class PoolMetrics:
    def __init__(
        self,
        num_gpus: int,
        *,
        clock: Callable[[], float],
        log_every_prompts: int = 10,
        log_interval_seconds: float = 60.0,
        initial_exec_seconds: float = 10.0,
        ewma_alpha: float = 0.3,
        registry: Optional[CollectorRegistry] = None,
    ):
        self.num_gpus = num_gpus
        self._clock = clock
        self._every = log_every_prompts
        self._interval = log_interval_seconds
        self._alpha = ewma_alpha
        self._lock = threading.Lock()
        now = clock()
        self._windows = [_Window(started=now) for _ in range(num_gpus)]
        self._exec_estimate = [initial_exec_seconds] * num_gpus
        self._measured = [False] * num_gpus
        if registry is None:
            registry = CollectorRegistry(auto_describe=True)
            # process_resident_memory_bytes and friends: RSS is how operators see RAM sharing.
            ProcessCollector(registry=registry)
        self.registry = registry
        labels = ["gpu"]
        self._prompts = Counter(
            "comfyui_gpu_prompts", "Prompts finished per GPU by outcome.", labels + ["outcome"],
            registry=self.registry,
        )
        self._oom = Counter("comfyui_gpu_oom", "CUDA out-of-memory failures per GPU.", labels,
                            registry=self.registry)
        self._wait = Histogram("comfyui_gpu_queue_wait_seconds",
                               "Enqueue-to-start time of prompts per GPU.", labels,
                               buckets=_BUCKETS, registry=self.registry)
        self._exec = Histogram("comfyui_gpu_execution_seconds", "Execution time of prompts per GPU.",
                               labels, buckets=_BUCKETS, registry=self.registry)
        self._depth = Gauge("comfyui_gpu_queue_depth", "Prompts pending per GPU.", labels,
                            registry=self.registry)
        self._running = Gauge("comfyui_gpu_running", "1 while the GPU runs a prompt.", labels,
                              registry=self.registry)
        self._ready = Gauge("comfyui_gpu_worker_ready", "1 once the GPU's worker warmed up.", labels,
                            registry=self.registry)
        self._breaker_open = Gauge("comfyui_gpu_breaker_open",
                                   "1 while the GPU is out of service (its breaker is open).", labels,
                                   registry=self.registry)
        self._gpu_faults = Counter("comfyui_gpu_faults",
                                   "Failed prompts counted as the GPU's fault, not the workflow's.",
                                   labels, registry=self.registry)
        self._probes = Counter("comfyui_gpu_probes", "Probes of out-of-service GPUs by outcome.",
                               labels + ["outcome"], registry=self.registry)
        for gpu in range(num_gpus):
            g = str(gpu)
            for outcome in ("success", "error", "interrupted"):
                self._prompts.labels(gpu=g, outcome=outcome)
            self._oom.labels(gpu=g)
            self._depth.labels(gpu=g)
            self._running.labels(gpu=g)
            self._ready.labels(gpu=g)
            self._breaker_open.labels(gpu=g)
            self._gpu_faults.labels(gpu=g)
            for outcome in ("passed", "failed"):
                self._probes.labels(gpu=g, outcome=outcome)

    # ---- recording ---------------------------------------------------------------------
    def task_started(self, gpu: int, wait_seconds: float, queue_depth: int) -> None:
        with self._lock:
            window = self._windows[gpu]
            window.wait_s.append(wait_seconds)
            window.queue_depths.append(queue_depth)
        self._wait.labels(gpu=str(gpu)).observe(wait_seconds)
        self._running.labels(gpu=str(gpu)).set(1)

    def task_finished(self, gpu: int, exec_seconds: float, outcome: str, ooms: int) -> None:
        with self._lock:
            window = self._windows[gpu]
            window.tasks += 1
            window.successes += 1 if outcome == "success" else 0
            window.ooms += ooms
            window.exec_s.append(exec_seconds)
            # Successes only: a GPU whose prompts fail in 5 ms must not look 5 ms fast.
            if outcome == "success":
                if self._measured[gpu]:
                    old = self._exec_estimate[gpu]
                    self._exec_estimate[gpu] = old + self._alpha * (exec_seconds - old)
                else:
                    self._exec_estimate[gpu] = exec_seconds
                    self._measured[gpu] = True
        g = str(gpu)
        self._prompts.labels(gpu=g, outcome=outcome).inc()
        if ooms:
            self._oom.labels(gpu=g).inc(ooms)
        self._exec.labels(gpu=g).observe(exec_seconds)
        self._running.labels(gpu=g).set(0)

    def set_queue_depth(self, gpu: int, depth: int) -> None:
        self._depth.labels(gpu=str(gpu)).set(depth)

    def set_ready(self, gpu: int, ready: bool) -> None:
        self._ready.labels(gpu=str(gpu)).set(1 if ready else 0)

    def gpu_fault(self, gpu: int) -> None:
        self._gpu_faults.labels(gpu=str(gpu)).inc()

    def set_breaker_open(self, gpu: int, is_open: bool) -> None:
        self._breaker_open.labels(gpu=str(gpu)).set(1 if is_open else 0)

    def probed(self, gpu: int, passed: bool) -> None:
        self._probes.labels(gpu=str(gpu), outcome="passed" if passed else "failed").inc()

    def exec_estimate(self, gpu: int) -> float:
        """Recent mean execution time; GPUs that ran nothing yet borrow the mean of those that did."""
        with self._lock:
            measured = [e for e, m in zip(self._exec_estimate, self._measured) if m]
            if self._measured[gpu] or not measured:
                return self._exec_estimate[gpu]
            return sum(measured) / len(measured)

    # ---- the periodic log line ---------------------------------------------------------
    def maybe_log(self, gpu: int) -> Optional[str]:
        """Log and return the GPU's line when 10 prompts or the interval passed, else None."""
        now = self._clock()
        with self._lock:
            window = self._windows[gpu]
            due = window.tasks >= self._every or (now - window.started) >= self._interval
            if not due:
                return None
            self._windows[gpu] = _Window(started=now)
        line = format_log_line(gpu, window)
        log.info(line)
        return line

    def exposition(self) -> "tuple[bytes, str]":
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def format_log_line(gpu: int, window: _Window) -> str:
    success = 100.0 * window.successes / window.tasks if window.tasks else 100.0
    return (
        f"[GPU {gpu}] tasks={window.tasks}, success={success:.1f}%, "
        f"queue={_mean([float(d) for d in window.queue_depths]):.1f}, "
        f"wait={_mean(window.wait_s) * 1000:.0f}ms, exec={_mean(window.exec_s) * 1000:.0f}ms, "
        f"oom={window.ooms}"
    )
