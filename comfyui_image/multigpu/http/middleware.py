"""One aiohttp middleware that makes any ComfyUI-compatible app multi-GPU aware.

- Validates X-TARGET-GPU on every request (400 with a JSON error naming the header and range).
- Makes the target visible to the queue through a context variable (core/request_context.py).
- Serves the multi-GPU routes in place of ComfyUI's own handlers for the same paths; a middleware
  sees the request before the handler ComfyUI registered, whatever order routes were added in.
- Adds the chosen `gpu_id` to the POST /prompt response, and lists every GPU in GET /system_stats
  (ComfyUI's handler describes the HTTP thread's device, GPU 0, only).
"""
from __future__ import annotations

import json
import logging
from typing import Awaitable, Callable, Dict, List, Optional, Tuple

from aiohttp import web

from ..core.request_context import begin_request, end_request
from ..core.sessions import SessionActivity
from ..core.target_gpu import TARGET_GPU_HEADER, TargetGpuError, parse_target_gpu

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

log = logging.getLogger("multigpu.http")


def _route_key(request: web.Request) -> Tuple[str, str]:
    path = request.path
    # ComfyUI serves its API both at / and under /api (the web UI uses /api).
    if path.startswith("/api/"):
        path = path[4:]
    return request.method, path.rstrip("/") or "/"


def multigpu_middleware(num_gpus: int, overrides: Dict[Tuple[str, str], Handler],
                        system_devices: Optional[Callable[[], List[dict]]] = None,
                        sessions: Optional[SessionActivity] = None):
    """`system_devices`, when given, replaces the "devices" of GET /system_stats. `sessions`, when given,
    records browser WebSocket connects (GET /ws with an Origin header; core/sessions.py); browser prompts are
    recorded by the pool, which sees their client id."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            target = parse_target_gpu(request.headers.get(TARGET_GPU_HEADER), num_gpus)
        except TargetGpuError as error:
            return web.json_response(error.as_json(), status=400)
        browser = "Origin" in request.headers
        token, routing = begin_request(target, browser=browser)
        try:
            key = _route_key(request)
            if browser and sessions is not None and key == ("GET", "/ws"):
                sessions.seen(request.query.get("clientId"))
            own = overrides.get(key)
            response = await (own or handler)(request)
        finally:
            end_request(token)
        if key == ("POST", "/prompt") and routing.routed_gpu is not None:
            return _edited(response, lambda payload: payload.update(gpu_id=routing.routed_gpu))
        if key == ("GET", "/system_stats") and system_devices is not None:
            return _with_devices(response, system_devices)
        return response

    return middleware


def _with_devices(response: web.StreamResponse, system_devices) -> web.StreamResponse:
    try:
        devices = system_devices()
    except Exception:  # the stock answer (GPU 0 only) beats none
        log.exception("could not list the GPUs for /system_stats; answering ComfyUI's own")
        return response
    return _edited(response, lambda payload: payload.update(devices=devices))


def _edited(response: web.StreamResponse, edit: Callable[[dict], None]) -> web.StreamResponse:
    """The JSON object of a 200 response, changed by `edit`; any other response unchanged."""
    if not isinstance(response, web.Response) or response.status != 200 or response.body is None:
        return response
    try:
        payload = json.loads(response.body)
    except (TypeError, ValueError):
        return response
    if not isinstance(payload, dict):
        return response
    edit(payload)
    return web.json_response(payload, status=response.status)
