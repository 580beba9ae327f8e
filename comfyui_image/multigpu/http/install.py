"""Make an aiohttp application multi-GPU aware: ComfyUI's (from the adapter) or the simulator's."""
from __future__ import annotations

from aiohttp import web

from ..core.pool import GpuPool
from .middleware import multigpu_middleware
from .routes import build_routes


def multigpu_middlewares(pool: GpuPool) -> list:
    """Middlewares to put last (innermost) in the application's list."""
    return [multigpu_middleware(pool.num_gpus, build_routes(pool), pool.system_devices, pool.sessions)]


def install_routes(app: web.Application, pool: GpuPool) -> None:
    """Append the middleware to an application that is not frozen yet (not started).

    Last, so the application's own middlewares wrap the routes it serves in place of ComfyUI's:
    stock's cross-origin rule (server.py: --enable-cors-header, else a foreign Origin on a loopback
    Host is refused) and cache headers apply to POST /prompt, /interrupt or /queue as to any stock
    route. Put first, it answered those itself and a web page could queue prompts on a ComfyUI on
    the user's machine."""
    if app.frozen:
        raise RuntimeError("install_routes must run before the aiohttp application starts")
    app.middlewares.append(multigpu_middlewares(pool)[0])
