"""ComfyUI's prompt intake over a GpuPool: POST/GET /prompt, /history, the WebSocket; shapes as in
ComfyUI's server.py. Shared by the simulator (thread mode and its stock workers) and the
process-mode front; what differs is how a prompt is validated and which prompt ids are allowed."""
from __future__ import annotations

import itertools
import time
import uuid
from typing import Awaitable, Callable, List, Optional, Tuple

import aiohttp
from aiohttp import web

from ..core.pool import GpuPool
from ..core.prompt_ids import prompt_id_problem
from ..core.request_context import submit_in_request
from ..core.task import SENSITIVE_EXTRA_DATA_KEYS, Task, models_in_prompt
from .ws_hub import WebSocketHub

# What the server answers a client's feature_flags with (a subset of v0.33's
# comfy_api/feature_flags.py SERVER_FEATURE_FLAGS: the one the simulator and the front honour).
SERVER_FEATURES = {"supports_preview_metadata": True}
# (the 400 body, or None and the ids of the output nodes to execute)
Validate = Callable[[dict], Awaitable[Tuple[Optional[dict], List[str]]]]


def status_message(pool: GpuPool) -> dict:
    return {"status": {"exec_info": {"queue_remaining": pool.tasks_remaining()}}}


def with_api_aliases(routes: web.RouteTableDef) -> list:
    """The routes at / and under /api, as ComfyUI serves them (the web UI calls /api)."""
    defs = [r for r in routes if isinstance(r, web.RouteDef)]
    return defs + [web.route(r.method, "/api" + r.path, r.handler) for r in defs]


def run_with_app(app: web.Application, pool: GpuPool, hub: WebSocketHub) -> None:
    """Start the hub and the pool's workers with the application, stop them with it."""

    async def on_startup(app: web.Application) -> None:
        await hub.start()
        pool.start()

    async def on_cleanup(app: web.Application) -> None:
        pool.stop()
        await hub.stop()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)


def add_intake_routes(app: web.Application, pool: GpuPool, hub: WebSocketHub, *,
                      validate: Validate, prompt_id_rule: str = "any") -> None:
    numbers = itertools.count()
    routes = web.RouteTableDef()

    @routes.post("/prompt")
    async def post_prompt(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"error": {"type": "invalid_json", "message": "body is not JSON",
                                                 "details": "", "extra_info": {}},
                                      "node_errors": []}, status=400)
        body = body if isinstance(body, dict) else {}
        if body.get("prompt_id") is not None:
            problem = prompt_id_problem(body["prompt_id"], prompt_id_rule)
            if problem is not None:
                return web.json_response(problem, status=400)
        problem, outputs = await validate(body)
        if problem is not None:
            return web.json_response(problem, status=400)
        prompt = body["prompt"]
        extra_data = dict(body.get("extra_data") or {})
        if "client_id" in body:
            extra_data["client_id"] = body["client_id"]
        # As v0.33 server.py post_prompt: milliseconds at intake, which /api/jobs sorts by (core/jobs_view.py).
        extra_data["create_time"] = int(time.time() * 1000)
        # As server.py post_prompt: a Comfy.org key or token is the submitter's alone, so it travels
        # beside extra_data (to the executor) and never shows in /queue, /history or /api/jobs.
        sensitive = {key: extra_data.pop(key) for key in SENSITIVE_EXTRA_DATA_KEYS if key in extra_data}
        prompt_id = str(body.get("prompt_id") or uuid.uuid4())
        # As server.py post_prompt: an explicit number, else the next one, negated for "front".
        if "number" in body:
            number = float(body["number"])
        else:
            number = float(next(numbers))
            if body.get("front"):
                number = -number
        task = Task(number=number, prompt_id=prompt_id, prompt=prompt, extra_data=extra_data,
                    outputs_to_execute=outputs, sensitive=sensitive, models=models_in_prompt(prompt))
        submit_in_request(pool, task)
        return web.json_response({"prompt_id": prompt_id, "number": number, "node_errors": {}})

    @routes.get("/prompt")
    async def get_prompt(request: web.Request) -> web.Response:
        # Stock's get_queue_info (server.py, v0.8 and v0.33): the status message's inner object.
        return web.json_response(status_message(pool)["status"])

    @routes.get("/history")
    async def history(request: web.Request) -> web.Response:
        max_items = request.query.get("max_items")
        offset = int(request.query.get("offset", -1))
        return web.json_response(pool.history.get(
            max_items=int(max_items) if max_items is not None else None, offset=offset))

    @routes.get("/history/{prompt_id}")
    async def history_one(request: web.Request) -> web.Response:
        return web.json_response(pool.history.get(request.match_info["prompt_id"]))

    @routes.post("/history")
    async def edit_history(request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("clear"):
            pool.history.clear()
        for prompt_id in body.get("delete", []):
            pool.history.delete(prompt_id)
        return web.Response(status=200)

    @routes.get("/ws")
    async def websocket(request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(heartbeat=30)
        await socket.prepare(request)
        client_id = request.query.get("clientId") or uuid.uuid4().hex
        hub.add(client_id, socket)
        try:
            await hub.send_now(socket, "status", dict(status_message(pool), sid=client_id))
            async for message in socket:
                if message.type == aiohttp.WSMsgType.TEXT and hub.client_message(socket, message.data):
                    await hub.send_now(socket, "feature_flags", SERVER_FEATURES)
        finally:
            hub.remove(client_id, socket)
        return socket

    app.add_routes(with_api_aliases(routes))
