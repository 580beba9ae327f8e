"""Stand-ins for the ComfyUI routes the multi-GPU layer does not replace: POST /prompt intake,
history, /view, /system_stats and the WebSocket. Shapes follow ComfyUI's server.py."""
from __future__ import annotations

import itertools
import os
import uuid

from aiohttp import web

from ..core.pool import GpuPool
from ..core.request_context import submit_in_request
from ..core.task import Task, models_in_prompt
from .catalog import output_nodes, validate_prompt
from .hub import WebSocketHub


def add_intake_routes(app: web.Application, pool: GpuPool, hub: WebSocketHub, output_dir: str,
                      num_gpus: int) -> None:
    numbers = itertools.count()
    routes = web.RouteTableDef()

    def status() -> dict:
        return {"status": {"exec_info": {"queue_remaining": pool.tasks_remaining()}}}

    @routes.post("/prompt")
    async def post_prompt(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"error": {"type": "invalid_json", "message": "body is not JSON",
                                                 "details": "", "extra_info": {}},
                                      "node_errors": []}, status=400)
        prompt = body.get("prompt") if isinstance(body, dict) else None
        problem = validate_prompt(prompt)
        if problem is not None:
            return web.json_response(problem, status=400)
        extra_data = dict(body.get("extra_data") or {})
        if "client_id" in body:
            extra_data["client_id"] = body["client_id"]
        prompt_id = str(body.get("prompt_id") or uuid.uuid4())
        # As server.py post_prompt: an explicit number, else the next one, negated for "front".
        if "number" in body:
            number = float(body["number"])
        else:
            number = float(next(numbers))
            if body.get("front"):
                number = -number
        outputs = output_nodes(prompt)
        task = Task(number=number, prompt_id=prompt_id, prompt=prompt, extra_data=extra_data,
                    outputs_to_execute=outputs, models=models_in_prompt(prompt))
        submit_in_request(pool, task)
        return web.json_response({"prompt_id": prompt_id, "number": number, "node_errors": {}})

    @routes.get("/prompt")
    async def get_prompt(request: web.Request) -> web.Response:
        return web.json_response(status())

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

    @routes.get("/view")
    async def view(request: web.Request) -> web.StreamResponse:
        # As ComfyUI's server.py view_image: filename within subfolder within the output folder.
        name = request.query.get("filename", "")
        if request.query.get("type", "output") != "output" or not name or "/" in name:
            raise web.HTTPNotFound()
        root = os.path.realpath(output_dir)
        folder = os.path.realpath(os.path.join(root, request.query.get("subfolder", "")))
        if os.path.commonpath((root, folder)) != root:
            raise web.HTTPForbidden()
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers={"Content-Type": "image/png"})

    @routes.get("/system_stats")
    async def system_stats(request: web.Request) -> web.Response:
        devices = [{"name": f"cuda:{i} simulated", "type": "cuda", "index": i,
                    "vram_total": 24 * 2**30, "vram_free": 24 * 2**30} for i in range(num_gpus)]
        return web.json_response({"system": {"comfyui_version": "simulator", "os": os.name},
                                  "devices": devices})

    @routes.get("/ws")
    async def websocket(request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(heartbeat=30)
        await socket.prepare(request)
        client_id = request.query.get("clientId") or uuid.uuid4().hex
        hub.add(client_id, socket)
        try:
            await hub.send_now(socket, "status", dict(status(), sid=client_id))
            async for _ in socket:
                pass  # ComfyUI ignores client messages too
        finally:
            hub.remove(client_id, socket)
        return socket

    app.add_routes(routes)
    # The web UI calls the same routes under /api.
    app.add_routes([web.route(r.method, "/api" + r.path, r.handler) for r in routes
                    if isinstance(r, web.RouteDef)])
