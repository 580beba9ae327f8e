"""Compose the simulator: the real pool and multi-GPU routes, the simulated executor, the
stand-in intake."""
from __future__ import annotations

import os
from dataclasses import dataclass

from aiohttp import web

from ..core.cache_metrics import expose_weights_cache
from ..core.pool import GpuPool
from ..core.shared_file_cache import SharedFileCache
from ..core.settings import PoolSettings
from ..http.install import install_routes
from ..http.intake_routes import run_with_app
from ..http.origin_guard import origin_guard
from ..http.ws_hub import WebSocketHub
from .executor import SimExecutor
from .intake import add_sim_routes


@dataclass(frozen=True)
class SimOptions:
    gpus: int = 4
    exec_ms: float = 200.0
    load_ms: float = 500.0
    warmup_ms: float = 50.0
    output_dir: str = "sim-output"
    affinity_slack: float = 1.0
    # The image's COMFY_WEIGHTS_CACHE_GIB; 0 turns the shared weights cache (and its series) off.
    weights_cache_gib: float = 64.0
    # The image's COMFY_GPU_BREAKER_PROBE_S: seconds before an out-of-service GPU is probed.
    breaker_probe_s: float = 30.0
    # The image's COMFY_SESSION_ACTIVITY_S: how long a browser session's last connect or prompt counts.
    session_activity_s: float = 300.0
    # Binary preview frames per prompt (the first N sampler steps).
    previews: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.gpus <= 16:
            raise ValueError(f"--gpus must be 1..16, got {self.gpus}")
        for name in ("exec_ms", "load_ms", "warmup_ms", "weights_cache_gib", "previews"):
            if getattr(self, name) < 0:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 0")
        if self.breaker_probe_s <= 0:
            raise ValueError("--breaker-probe-s must be > 0")
        if self.session_activity_s <= 0:
            raise ValueError("--session-activity-s must be > 0")


def build_sim_app(options: SimOptions) -> "tuple[web.Application, GpuPool, SimExecutor]":
    os.makedirs(options.output_dir, exist_ok=True)
    hub = WebSocketHub()
    weights_cache = (SharedFileCache(int(options.weights_cache_gib * 2**30), size_of=lambda _k, v: v)
                     if options.weights_cache_gib > 0 else None)
    executor = SimExecutor(options.gpus, exec_ms=options.exec_ms, load_ms=options.load_ms,
                           warmup_ms=options.warmup_ms, output_dir=options.output_dir,
                           send=hub.send, weights_cache=weights_cache, previews=options.previews,
                           send_binary=hub.send_binary)
    pool_ref = {}

    def queue_changed() -> None:
        # ComfyUI's PromptServer.queue_updated: a status broadcast with the total queue.
        pool = pool_ref.get("pool")
        if pool is not None:
            hub.send("status", {"status": {"exec_info": {"queue_remaining": pool.tasks_remaining()}}},
                     None)

    pool = GpuPool(executor, options.gpus,
                   settings=PoolSettings(affinity_slack=options.affinity_slack,
                                         breaker_probe_seconds=options.breaker_probe_s,
                                         breaker_probe_max_seconds=max(600.0, options.breaker_probe_s),
                                         session_activity_seconds=options.session_activity_s),
                   on_queue_changed=queue_changed)
    pool_ref["pool"] = pool
    if weights_cache is not None:
        expose_weights_cache(pool.metrics.registry, weights_cache)
    # Stock's server applies its cross-origin rule to every route; the simulator stands in for it.
    app = web.Application(client_max_size=64 * 2**20, middlewares=[origin_guard(None)])
    install_routes(app, pool)
    add_sim_routes(app, pool, hub, options.output_dir, options.gpus)
    run_with_app(app, pool, hub)
    return app, pool, executor
