"""The multi-GPU HTTP routes, keyed by (method, path) for the middleware.

Stock-compatible where ComfyUI has the route (GET/POST /queue, /interrupt, /free); new routes
are /queue/all, /metrics, /healthz and /readyz.
"""
from __future__ import annotations

import asyncio
import json
from typing import Dict, Tuple

from aiohttp import web

from ..core.interrupt_scope import InterruptRequest
from ..core.pool import GpuPool
from ..core.request_context import current_request
from .middleware import Handler


async def _json_body(request: web.Request) -> dict:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except (ValueError, json.JSONDecodeError):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": {"type": "invalid_json", "message": "request body is not JSON"}}),
            content_type="application/json",
        )
    return body if isinstance(body, dict) else {}


def build_routes(pool: GpuPool) -> Dict[Tuple[str, str], Handler]:
    async def queue_all(request: web.Request) -> web.Response:
        return web.json_response(pool.queue_all())

    async def get_queue(request: web.Request) -> web.Response:
        gpu = current_request().target_gpu
        body = pool.queue_snapshot(gpu)
        if gpu is not None:
            body["gpu_id"] = gpu
        return web.json_response(body)

    async def post_queue(request: web.Request) -> web.Response:
        # Stock semantics: {"clear": true} and/or {"delete": [prompt_id, ...]}; scoped to one GPU
        # when the header is present.
        body = await _json_body(request)
        gpu = current_request().target_gpu
        if body.get("clear"):
            pool.clear_pending(gpu)
        if "delete" in body:
            ids = body["delete"]
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                return web.json_response(
                    {"error": {"type": "invalid_delete", "message": "'delete' must be a list of prompt ids"}},
                    status=400)
            pool.delete_pending(ids, gpu)
        return web.Response(status=200)

    async def interrupt(request: web.Request) -> web.Response:
        # Scoped (core/interrupt_scope.py): one user's Cancel stops that user's prompt only.
        body = await _json_body(request)
        fields = {"prompt_id": body.get("prompt_id"),
                  "client_id": body.get("client_id", request.query.get("client_id",
                                                                       request.query.get("clientId")))}
        for name, value in fields.items():
            if value is not None and not isinstance(value, str):
                return web.json_response(
                    {"error": {"type": f"invalid_{name}", "message": f"'{name}' must be a string"}},
                    status=400)
        everything = body.get("all", False)
        if not isinstance(everything, bool):
            return web.json_response(
                {"error": {"type": "invalid_all", "message": "'all' must be true or false"}}, status=400)
        outcome = pool.interrupt(InterruptRequest(
            prompt_id=fields["prompt_id"] or None, client_id=fields["client_id"] or None,
            gpu_id=current_request().target_gpu, everything=everything))
        answer = {"interrupted_gpus": outcome.gpus, "interrupted_prompts": outcome.prompt_ids}
        if outcome.refused:
            answer["error"] = {"type": "ambiguous_interrupt", "message": outcome.refused}
            return web.json_response(answer, status=409)
        return web.json_response(answer)

    async def free(request: web.Request) -> web.Response:
        body = await _json_body(request)
        free_memory = bool(body.get("free_memory", False))
        unload_models = bool(body.get("unload_models", free_memory))
        gpus = pool.request_free(current_request().target_gpu, unload_models=unload_models,
                                 free_memory=free_memory)
        return web.json_response({"gpus": gpus})

    async def metrics(request: web.Request) -> web.Response:
        # Off the event loop: collecting reads /proc for each worker process (process mode), which
        # takes as long as the kernel needs to walk a large process' mappings.
        payload, content_type = await asyncio.get_running_loop().run_in_executor(None, pool.metrics.exposition)
        response = web.Response(body=payload)
        response.headers["Content-Type"] = content_type
        return response

    async def healthz(request: web.Request) -> web.Response:
        ok, reason = pool.health()
        return web.json_response({"ok": ok, "reason": reason}, status=200 if ok else 503)

    async def readyz(request: web.Request) -> web.Response:
        ok, reason = pool.readiness()
        return web.json_response({"ready": ok, "reason": reason}, status=200 if ok else 503)

    return {
        ("GET", "/queue/all"): queue_all,
        ("GET", "/queue"): get_queue,
        ("POST", "/queue"): post_queue,
        ("POST", "/interrupt"): interrupt,
        ("POST", "/free"): free,
        ("GET", "/metrics"): metrics,
        ("GET", "/healthz"): healthz,
        ("GET", "/readyz"): readyz,
    }
