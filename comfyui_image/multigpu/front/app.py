"""Compose process mode's front: the pool with RemoteExecutor, one link per worker, the supervisor,
the multi-GPU routes, the prompt intake validated by a worker, /api/jobs, and every other route
proxied to a worker.

Route map (docs/process-mode-design.md 3.2): the scheduler's routes, /prompt, /history, /ws and
/api/jobs are the front's; /system_stats merges every worker's device; the rest goes to a worker
(front/proxy_routes.py).
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import aiohttp
from aiohttp import web

from ..core.pool import GpuPool
from ..core.remote_executor import RemoteExecutor
from ..core.settings import PoolSettings
from ..core.worker_memory import expose_worker_memory
from ..core.worker_metrics import WorkerMetrics
from ..http.install import install_routes
from ..http.intake_routes import add_intake_routes, status_message, with_api_aliases
from ..http.jobs_routes import add_jobs_routes
from ..http.worker_link import HttpWorkerLink
from ..http.ws_hub import WebSocketHub
from ..http.origin_guard import origin_guard
from .proxy_routes import install_proxy_routes
from .save_lock_routes import install_save_lock_routes
from .supervisor import Command, Environment, WorkerSupervisor
from .watchdog import WorkerWatchdog
from .worker_validation import validate_on_worker

log = logging.getLogger("multigpu.front")


@dataclass(frozen=True)
class FrontOptions:
    num_gpus: int
    worker_urls: Sequence[str]
    # argv and environment of worker `gpu`; the URL it serves is worker_urls[gpu].
    worker_command: Command
    worker_environment: Optional[Environment] = None
    settings: PoolSettings = PoolSettings()
    warmup_timeout_s: float = 600.0
    prompt_id_rule: str = "uuid"
    # COMFY_WORKER_STALL_S: seconds of silence from a worker running a prompt before it is
    # interrupted (0 = never), and the grace before it is killed (core/stall_watch.py).
    stall_s: float = 1800.0
    stall_grace_s: float = 60.0
    # Seconds between liveness checks of each worker (and for each to answer; front/watchdog.py).
    liveness_s: float = 10.0
    # For comfyui_executor_info: what the workers run (the image's pin; "simulator" in the simulator).
    comfyui_version: str = "unknown"
    # /readyz stays 503 while one of these names a problem (the pod's model-sync marker, launch.py).
    readiness_checks: Sequence[Callable[[], Optional[str]]] = ()
    # ComfyUI's --enable-cors-header origin; None keeps stock's same-origin rule (http/origin_guard.py).
    cors_origin: Optional[str] = None

    def __post_init__(self) -> None:
        if len(self.worker_urls) != self.num_gpus:
            raise ValueError(f"{self.num_gpus} GPUs need {self.num_gpus} worker URLs, got {len(self.worker_urls)}")


def build_front_app(options: FrontOptions) -> "tuple[web.Application, GpuPool, WorkerSupervisor]":
    hub = WebSocketHub()

    def on_message(gpu: int, event: str, data: dict) -> None:
        executor.on_message(gpu, event, data)  # bound at call time: the executor needs the links

    def on_state(gpu: int, up: bool) -> None:
        worker_metrics.set_up(gpu, up)
        if up:
            supervisor.answered(gpu)

    def on_binary(gpu: int, frame: bytes) -> None:
        executor.on_binary(gpu, frame)

    links = [HttpWorkerLink(gpu, url, on_message, on_state, on_binary,
                            expected_command=options.worker_command(gpu))
             for gpu, url in enumerate(options.worker_urls)]
    executor = RemoteExecutor(links, hub.send, warmup_timeout_s=options.warmup_timeout_s,
                              send_binary=hub.send_binary, stall_s=options.stall_s,
                              stall_grace_s=options.stall_grace_s,
                              kill=lambda gpu, reason: supervisor.kill(gpu, reason),
                              report_exit=lambda gpu, description: worker_gone(gpu, description))
    pool_ref = {}

    def queue_changed() -> None:
        if "pool" in pool_ref:
            hub.send("status", status_message(pool_ref["pool"]), None)

    pool = GpuPool(executor, options.num_gpus, settings=options.settings, on_queue_changed=queue_changed,
                   readiness_checks=options.readiness_checks)
    pool_ref["pool"] = pool
    worker_metrics = WorkerMetrics(pool.metrics.registry, options.num_gpus, mode="process",
                                   comfyui_version=options.comfyui_version)

    def worker_exited(gpu: int, description: str, reason: str) -> None:
        worker_metrics.exited(gpu, reason)
        worker_gone(gpu, description)

    def worker_gone(gpu: int, description: str) -> None:
        """An exit, or a worker that SIGKILL did not end (the executor's report_exit)."""
        pool.take_out_of_service(gpu, description)  # first: the thread must not take the next prompt
        executor.worker_exited(gpu, description)

    supervisor = WorkerSupervisor(options.num_gpus, options.worker_command, on_exit=worker_exited,
                                  environment=options.worker_environment)
    watchdog = WorkerWatchdog(links, supervisor, interval_s=options.liveness_s,
                              startup_s=options.warmup_timeout_s)
    expose_worker_memory(pool.metrics.registry, options.num_gpus, supervisor.pid, read_smaps_rollup)
    session_ref = {}

    def primary() -> HttpWorkerLink:
        for link in links:
            if link.up:
                return link
        raise web.HTTPServiceUnavailable(text="no GPU's ComfyUI is up")

    async def validate(body: dict):
        """The primary worker's verdict (the node pack's /multigpu/validate, stock validation)."""
        worker = primary()
        return await validate_on_worker(session_ref["session"], worker.base_url, worker.gpu_id, body)

    # Stock's cross-origin rule for the front's own routes, outside the multi-GPU middleware (install_routes).
    app = web.Application(client_max_size=64 * 2**20, middlewares=[origin_guard(options.cors_origin)])
    install_routes(app, pool)
    add_intake_routes(app, pool, hub, validate=validate, prompt_id_rule=options.prompt_id_rule)
    install_save_lock_routes(app, executor.save_locks, options.num_gpus)  # the workers' (design 3.7)
    routes = web.RouteTableDef()

    @routes.get("/system_stats")
    async def system_stats(request: web.Request) -> web.Response:
        answers = await asyncio.gather(*(_json(session_ref["session"], l.base_url + "/system_stats")
                                         for l in links), return_exceptions=True)
        system, devices = None, []
        for gpu, answer in enumerate(answers):
            if isinstance(answer, dict) and answer.get("devices"):
                system = system or answer.get("system")
                devices.append(dict(answer["devices"][0], index=gpu))
        if system is None:
            raise web.HTTPServiceUnavailable(text="no GPU's ComfyUI answered /system_stats")
        return web.json_response({"system": system, "devices": devices})

    app.add_routes(with_api_aliases(routes))
    add_jobs_routes(app, pool)
    install_proxy_routes(app, links, primary, lambda: session_ref["session"], hub.send)  # last: the catch-all

    async def on_startup(app: web.Application) -> None:
        session_ref["session"] = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, connect=10))
        await hub.start()
        for link in links:
            await link.start(session_ref["session"])
        await supervisor.start()
        await watchdog.start(session_ref["session"])
        pool.start()

    async def on_cleanup(app: web.Application) -> None:
        # Release prompts waiting on workers, stop the worker threads off the loop (they may be
        # waiting for a call on it), then the processes.
        await watchdog.stop()
        for gpu in range(options.num_gpus):
            executor.worker_exited(gpu, "the front is stopping")
        await asyncio.get_running_loop().run_in_executor(None, pool.stop)
        await supervisor.stop()
        for link in links:
            await link.stop()
        await session_ref["session"].close()
        await hub.stop()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app, pool, supervisor


def read_smaps_rollup(pid: int) -> Optional[str]:
    """/proc/<pid>/smaps_rollup, or None when the process is gone or the kernel lacks it."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            return handle.read()
    except OSError:
        return None


async def _json(session: aiohttp.ClientSession, url: str):
    async with session.get(url, timeout=aiohttp.ClientTimeout(total=10)) as response:
        return await response.json() if response.status == 200 else None
