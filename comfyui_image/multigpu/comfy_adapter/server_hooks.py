"""Start the GPU workers with ComfyUI's server, and open the port only after they warmed up.

Targets server.py (v0.8.0) `PromptServer.add_routes` and `PromptServer.start_multi_address`.
main.py `start_comfyui` runs, in order: `PromptServer(loop)` (which creates our queue),
`nodes.init_extra_nodes` (custom nodes load), `prompt_server.add_routes()`, the stock
prompt_worker thread (idle in multi-GPU mode), then `start_all` -> `run` ->
`start_multi_address`, which binds the sockets.

- After `add_routes` (custom nodes have loaded): `after_nodes_loaded` runs (patches that need the
  loaded nodes), then the multi-GPU middleware is put first in the app's middleware list (the app
  is not frozen until `AppRunner.setup` in `start_multi_address`), then the pool starts: one
  worker per GPU binds its device and warms up while ComfyUI finishes starting.
- Before `start_multi_address`: wait (in a thread, so the event loop stays free) until every
  worker finished warming up, then bind. The port therefore opens only after all GPUs warmed up,
  which is what the startup/readiness probes assume. A worker whose warmup failed still counts as
  finished: the port opens, /healthz reports the failed GPU and the liveness probe restarts the
  pod. If warmup takes longer than the timeout, the port opens anyway and /readyz answers 503
  until the workers are ready.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Callable, List

from ..core.pool import GpuPool

log = logging.getLogger("multigpu.server_hooks")


def patch_server_startup(server_module, pool: GpuPool, *, install_routes: Callable,
                         warmup_timeout_s: float, pending_hooks: Callable[[], List[str]],
                         after_nodes_loaded: Callable[[], None] = lambda: None) -> None:
    cls = server_module.PromptServer
    if getattr(cls.add_routes, "_multigpu_original", None):
        return
    original_add_routes = cls.add_routes
    original_start = cls.start_multi_address

    def add_routes(self):
        result = original_add_routes(self)
        after_nodes_loaded()
        install_routes(self.app, pool)
        log.info("Multi-GPU routes and middleware installed")
        pool.start()
        return result

    async def start_multi_address(self, addresses, call_on_start=None, verbose=True):
        missing = pending_hooks()
        if missing:
            log.warning("These ComfyUI modules were never imported, so their multi-GPU patches "
                        "did not apply: %s", ", ".join(missing))
        log.info("Waiting for %d GPU workers to warm up before listening", pool.num_gpus)
        loop = asyncio.get_running_loop()
        warm = await loop.run_in_executor(None, pool.wait_until_warm, warmup_timeout_s)
        ready, reason = pool.readiness()
        if not warm:
            log.error("GPU warmup did not finish within %.0f s (COMFY_WARMUP_TIMEOUT_S); "
                      "listening anyway, /readyz stays 503 until it does: %s",
                      warmup_timeout_s, reason)
        elif not ready:
            log.error("Listening with GPUs not ready: %s", reason)
        return await original_start(self, addresses, call_on_start, verbose)

    add_routes._multigpu_original = original_add_routes
    start_multi_address._multigpu_original = original_start
    cls.add_routes = add_routes
    cls.start_multi_address = start_multi_address
