"""Compose the simulator: the real pool and multi-GPU routes, the simulated executor, the
stand-in intake."""
from __future__ import annotations

import os
from dataclasses import dataclass

from aiohttp import web

from ..core.pool import GpuPool
from ..core.settings import PoolSettings
from ..http.install import install_routes
from .executor import SimExecutor
from .hub import WebSocketHub
from .intake import add_intake_routes


@dataclass(frozen=True)
class SimOptions:
    gpus: int = 4
    exec_ms: float = 200.0
    load_ms: float = 500.0
    warmup_ms: float = 50.0
    output_dir: str = "sim-output"
    affinity_slack: float = 1.0

    def __post_init__(self) -> None:
        if not 1 <= self.gpus <= 16:
            raise ValueError(f"--gpus must be 1..16, got {self.gpus}")
        for name in ("exec_ms", "load_ms", "warmup_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 0")


def build_sim_app(options: SimOptions) -> "tuple[web.Application, GpuPool, SimExecutor]":
    os.makedirs(options.output_dir, exist_ok=True)
    hub = WebSocketHub()
    executor = SimExecutor(options.gpus, exec_ms=options.exec_ms, load_ms=options.load_ms,
                           warmup_ms=options.warmup_ms, output_dir=options.output_dir,
                           send=hub.send)
    pool_ref = {}

    def queue_changed() -> None:
        # ComfyUI's PromptServer.queue_updated: a status broadcast with the total queue.
        pool = pool_ref.get("pool")
        if pool is not None:
            hub.send("status", {"status": {"exec_info": {"queue_remaining": pool.tasks_remaining()}}},
                     None)

    pool = GpuPool(executor, options.gpus,
                   settings=PoolSettings(affinity_slack=options.affinity_slack),
                   on_queue_changed=queue_changed)
    pool_ref["pool"] = pool
    app = web.Application(client_max_size=64 * 2**20)
    install_routes(app, pool)
    add_intake_routes(app, pool, hub, options.output_dir, options.gpus)

    async def on_startup(app: web.Application) -> None:
        await hub.start()
        pool.start()

    async def on_cleanup(app: web.Application) -> None:
        pool.stop()
        await hub.stop()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app, pool, executor
