"""Make an aiohttp application multi-GPU aware: ComfyUI's (from the adapter) or the simulator's."""
from __future__ import annotations

from aiohttp import web

from ..core.pool import GpuPool
from .middleware import multigpu_middleware
from .routes import build_routes


def multigpu_middlewares(pool: GpuPool) -> list:
    """Middlewares to put first in the application's list."""
    return [multigpu_middleware(pool.num_gpus, build_routes(pool), pool.system_devices, pool.sessions)]


def install_routes(app: web.Application, pool: GpuPool) -> None:
    """Prepend the middleware to an application that is not frozen yet (not started)."""
    if app.frozen:
        raise RuntimeError("install_routes must run before the aiohttp application starts")
    app.middlewares.insert(0, multigpu_middlewares(pool)[0])
