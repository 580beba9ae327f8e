"""One aiohttp middleware that makes any ComfyUI-compatible app multi-GPU aware.

- Validates X-TARGET-GPU on every request (400 with a JSON error naming the header and range).
- Makes the target visible to the queue through a context variable (core/request_context.py).
- Serves the multi-GPU routes in place of ComfyUI's own handlers for the same paths; a middleware
  sees the request before the handler ComfyUI registered, whatever order routes were added in.
- Adds the chosen `gpu_id` to the POST /prompt response.
"""
from __future__ import annotations

import json
from typing import Awaitable, Callable, Dict, Tuple

from aiohttp import web

from ..core.request_context import begin_request, end_request
from ..core.target_gpu import TARGET_GPU_HEADER, TargetGpuError, parse_target_gpu

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _route_key(request: web.Request) -> Tuple[str, str]:
    path = request.path
    # ComfyUI serves its API both at / and under /api (the web UI uses /api).
    if path.startswith("/api/"):
        path = path[4:]
    return request.method, path.rstrip("/") or "/"


def multigpu_middleware(num_gpus: int, overrides: Dict[Tuple[str, str], Handler]):
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            target = parse_target_gpu(request.headers.get(TARGET_GPU_HEADER), num_gpus)
        except TargetGpuError as error:
            return web.json_response(error.as_json(), status=400)
        token, routing = begin_request(target)
        try:
            key = _route_key(request)
            own = overrides.get(key)
            response = await (own or handler)(request)
        finally:
            end_request(token)
        if key in (("POST", "/prompt"),) and routing.routed_gpu is not None:
            return _with_gpu_id(response, routing.routed_gpu)
        return response

    return middleware


def _with_gpu_id(response: web.StreamResponse, gpu_id: int) -> web.StreamResponse:
    if not isinstance(response, web.Response) or response.status != 200 or response.body is None:
        return response
    try:
        payload = json.loads(response.body)
    except (TypeError, ValueError):
        return response
    if not isinstance(payload, dict):
        return response
    payload["gpu_id"] = gpu_id
    return web.json_response(payload, status=response.status)
