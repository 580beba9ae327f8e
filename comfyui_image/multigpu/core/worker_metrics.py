"""Process mode's worker series on /metrics (docs/process-mode-design.md 3.6): which executor
runs, whether each GPU's worker process serves, and how often it was restarted and why."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry, num_gpus: int, *, mode: str, comfyui_version: str):
        Gauge("comfyui_executor_info", "The executor mode and the ComfyUI release it runs (value 1).",
              ["mode", "comfyui_version"], registry=registry).labels(mode, comfyui_version).set(1)
        self._up = Gauge("comfyui_worker_up", "1 while the GPU's ComfyUI process serves its WebSocket.",
                         ["gpu"], registry=registry)
        self._restarts = Counter("comfyui_worker_restarts", "Exits of a GPU's ComfyUI process, by reason.",
                                 ["gpu", "reason"], registry=registry)
        for gpu in range(num_gpus):
            self._up.labels(str(gpu)).set(0)

    def set_up(self, gpu: int, up: bool) -> None:
        self._up.labels(str(gpu)).set(1 if up else 0)

    def exited(self, gpu: int, reason: str) -> None:
        """`reason`: a short label, e.g. "signal_9" or "code_3" (core/restart_policy.exit_reason)."""
        self._restarts.labels(str(gpu), reason).inc()
