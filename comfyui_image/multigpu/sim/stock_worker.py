"""A simulated stock ComfyUI on one GPU: what process mode's front drives (docs/process-mode-design.md 5.1).

No multi-GPU middleware: no /queue/all, no X-TARGET-GPU. One queue and one worker (the core's pool
with one GPU, no OOM retry, no breaker: stock has neither), the simulated executor, and stock's
routes: POST /prompt with v0.33's prompt-id rule, /queue, /interrupt (targeted by prompt id),
/free, /history, /ws, /view (output, input, temp), /upload/image|mask, /object_info, /features,
/system_stats; small stand-ins for the user routes the front proxies (`/`, /users, /settings,
/userdata/{file}: see add_user_stand_ins) and for the Logs panel's (add_log_stand_ins); plus the node pack's POST /multigpu/validate and GET
/sim/executed (which prompts this process ran, for tests).
"""
from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass

from aiohttp import web

from ..core.pool import GpuPool
from ..core.prompt_ids import RULES
from ..core.settings import PoolSettings
from ..http.intake_routes import add_intake_routes, run_with_app, status_message, with_api_aliases
from ..http.origin_guard import origin_guard
from ..http.routes import build_routes
from ..http.ws_hub import WebSocketHub
from .catalog import NODE_TYPES
from .executor import SimExecutor
from .intake import simulated_devices, validate_locally, view_file
from .uploads import save_upload


@dataclass(frozen=True)
class StockWorkerOptions:
    output_dir: str
    input_dir: str
    temp_dir: str
    exec_ms: float = 200.0
    load_ms: float = 500.0
    # v0.33 accepts only UUID prompt ids ("uuid"); v0.8 any string ("any").
    prompt_id_rule: str = "uuid"
    # Preview frames per prompt (the first N sampler steps).
    previews: int = 0

    def __post_init__(self) -> None:
        if self.prompt_id_rule not in RULES:
            raise ValueError(f"--prompt-id-rule must be one of {', '.join(RULES)}, got {self.prompt_id_rule!r}")
        if self.exec_ms < 0 or self.load_ms < 0 or self.previews < 0:
            raise ValueError("--exec-ms, --load-ms and --previews must be >= 0")


def _kill_this_process() -> None:
    os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's OOM killer would


def _hang_forever() -> None:
    threading.Event().wait()


def build_stock_worker_app(options: StockWorkerOptions) -> web.Application:
    folders = {"output": options.output_dir, "input": options.input_dir, "temp": options.temp_dir}
    for folder in folders.values():
        os.makedirs(folder, exist_ok=True)
    hub = WebSocketHub()
    executor = SimExecutor(1, exec_ms=options.exec_ms, load_ms=options.load_ms, warmup_ms=0,
                           output_dir=options.output_dir, send=hub.send, crash=_kill_this_process, hang=_hang_forever,
                           wedge=lambda: loop_ref["loop"].call_soon_threadsafe(_hang_forever),
                           previews=options.previews, send_binary=hub.send_binary)
    pool_ref, loop_ref = {}, {}

    def queue_changed() -> None:
        if "pool" in pool_ref:
            hub.send("status", status_message(pool_ref["pool"]), None)

    pool = GpuPool(executor, 1, settings=PoolSettings(oom_retries=0, breaker_threshold=0),
                   on_queue_changed=queue_changed)
    pool_ref["pool"] = pool
    app = web.Application(client_max_size=64 * 2**20, middlewares=[origin_guard(None)])  # as stock's server
    add_intake_routes(app, pool, hub, validate=validate_locally, prompt_id_rule=options.prompt_id_rule)
    stock = build_routes(pool)
    routes = web.RouteTableDef()
    for method, path in (("GET", "/queue"), ("POST", "/queue"), ("POST", "/interrupt"), ("POST", "/free")):
        routes.route(method, path)(stock[(method, path)])

    @routes.get("/view")
    async def view(request: web.Request) -> web.StreamResponse:
        return view_file(request, folders)

    @routes.post("/upload/image")
    async def upload_image(request: web.Request) -> web.Response:
        return await save_upload(request, folders)

    @routes.post("/upload/mask")
    async def upload_mask(request: web.Request) -> web.Response:
        return await save_upload(request, folders)

    @routes.get("/object_info")
    async def object_info(request: web.Request) -> web.Response:
        return web.json_response({name: _node_info(name) for name in NODE_TYPES})

    @routes.get("/object_info/{node_class}")
    async def object_info_one(request: web.Request) -> web.Response:
        name = request.match_info["node_class"]
        return web.json_response({name: _node_info(name)} if name in NODE_TYPES else {})

    @routes.get("/features")
    async def features(request: web.Request) -> web.Response:
        return web.json_response({"supports_preview_metadata": True})

    @routes.get("/system_stats")
    async def system_stats(request: web.Request) -> web.Response:
        # argv as stock reports it: the front checks it is talking to the worker it started.
        return web.json_response({"system": {"comfyui_version": "simulator (stock worker)",
                                             "os": os.name, "pid": os.getpid(), "argv": sys.argv},
                                  "devices": simulated_devices(1)})

    @routes.post("/multigpu/validate")
    async def validate(request: web.Request) -> web.Response:
        problem, outputs = await validate_locally(await request.json())
        if problem is not None:
            return web.json_response(problem, status=400)
        return web.json_response({"outputs_to_execute": outputs})

    add_user_stand_ins(routes, os.path.join(options.temp_dir, "user"))
    add_log_stand_ins(app, routes, hub)

    @routes.get("/sim/executed")
    async def executed(request: web.Request) -> web.Response:
        return web.json_response(sorted(executor.executed_on))

    app.add_routes(with_api_aliases(routes))
    run_with_app(app, pool, hub)

    async def remember_loop(app: web.Application) -> None:
        loop_ref["loop"] = asyncio.get_running_loop()

    app.on_startup.append(remember_loop)
    return app


def add_user_stand_ins(routes: web.RouteTableDef, user_dir: str) -> None:
    """Stand-ins for stock routes the front passes to the primary worker (v0.33 server.py `/`,
    app/user_manager.py, app/app_settings.py), enough for tests to see a write reach one worker and
    read back: settings in memory, user files in this worker's own folder (stock's user folder is
    shared: here a file shows which worker took it)."""
    settings: dict = {}

    @routes.get("/")
    async def index(request: web.Request) -> web.Response:
        return web.Response(text="<html><body>simulated ComfyUI</body></html>", content_type="text/html")

    @routes.get("/users")
    async def users(request: web.Request) -> web.Response:
        return web.json_response({"storage": "server", "migrated": True})

    @routes.get("/settings")
    async def all_settings(request: web.Request) -> web.Response:
        return web.json_response(settings)

    @routes.post("/settings")
    async def post_settings(request: web.Request) -> web.Response:
        settings.update(await request.json())
        return web.Response(status=200)

    @routes.get("/settings/{id}")
    async def one_setting(request: web.Request) -> web.Response:
        return web.json_response(settings.get(request.match_info["id"]))

    @routes.post("/settings/{id}")
    async def post_setting(request: web.Request) -> web.Response:
        settings[request.match_info["id"]] = await request.json()
        return web.Response(status=200)

    def user_file(request: web.Request) -> str:
        path = os.path.normpath(os.path.join(user_dir, request.match_info["file"]))
        if not path.startswith(os.path.join(user_dir, "")):
            raise web.HTTPForbidden()
        return path

    @routes.get("/userdata/{file}")
    async def get_userdata(request: web.Request) -> web.StreamResponse:
        path = user_file(request)
        if not os.path.isfile(path):
            raise web.HTTPNotFound()
        return web.FileResponse(path)

    @routes.post("/userdata/{file}")
    async def post_userdata(request: web.Request) -> web.Response:
        # Written as it arrives, with its size and digest: a test uploads more than the front would
        # hold in memory (its client_max_size) to show the body streams through.
        path = user_file(request)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        digest, size = hashlib.sha256(), 0
        with open(path, "wb") as handle:
            async for chunk in request.content.iter_chunked(1 << 20):
                digest.update(chunk)
                size += len(chunk)
                handle.write(chunk)
        return web.json_response({"path": request.match_info["file"], "size": size,
                                  "sha256": digest.hexdigest()})


def add_log_stand_ins(app: web.Application, routes: web.RouteTableDef, hub: WebSocketHub) -> None:
    """PATCH /internal/logs/subscribe (v0.33 api_server/routes/internal: under /internal only) and
    POST /sim/log {"text"}: a line of this worker's log, sent as a `logs` message to each subscribed
    client id as stock's terminal service sends it; answers the subscribers, for tests."""
    subscribers: set = set()

    async def subscribe(request: web.Request) -> web.Response:
        body = await request.json()
        (subscribers.add if body["enabled"] else subscribers.discard)(body["clientId"])
        return web.Response(status=200)

    @routes.post("/sim/log")
    async def emit(request: web.Request) -> web.Response:
        entry = {"t": time.strftime("%Y-%m-%dT%H:%M:%S"), "m": (await request.json())["text"] + "\n"}
        for client_id in sorted(subscribers):
            hub.send("logs", {"entries": [entry], "size": None}, client_id)
        return web.json_response(sorted(subscribers))

    app.router.add_patch("/internal/logs/subscribe", subscribe)


def _node_info(name: str) -> dict:
    required, is_output = NODE_TYPES[name]
    return {"input": {"required": {field: ["*"] for field in required}}, "output": [],
            "output_node": is_output, "name": name, "display_name": name, "category": "simulated"}
