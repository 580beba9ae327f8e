"""Process mode's front passes every route it does not answer itself to a worker ComfyUI, so a
client or the web UI sees the routes of a stock server (docs/process-mode-design.md 3.2).

What goes where:
- the front's own routes win: the scheduler's (/queue, /queue/all, /interrupt, /free, /metrics,
  /healthz, /readyz: served by the multi-GPU middleware whatever route matched), the intake
  (/prompt, /history, /ws), /system_stats, /api/jobs, PATCH /internal/logs/subscribe
  (front/log_relay.py); a WebSocket is never proxied;
- GET /view?type=temp: each worker in turn until one has the file (previews live in the temp
  folder of the worker that made them);
- everything else, every method, at / and under /api: the primary worker (the lowest-numbered
  one that is up). Its folders (input, output, user, models, custom nodes) are shared and its code
  is the others', so one answers for all; writes to user data go through one process, whose
  UserManager keeps the user list in memory (v0.33 app/user_manager.py). That covers the UI's `/`
  and static files, /users, /userdata*, /v2/userdata, /settings, /internal/*, /extensions, /i18n,
  /embeddings, /models*, /view_metadata, /workflow_templates, /global_subgraphs,
  /node_replacements, /object_info, /features, /upload/*, and any custom node's routes (v0.33
  server.py add_routes registers each at both paths; a custom node's static routes at one).
"""
from __future__ import annotations

from typing import Callable, Protocol, Sequence

import aiohttp
from aiohttp import ClientSession, web

from ..http.intake_routes import with_api_aliases
from ..http.proxy import forward
from .log_relay import LogRelay, Send, add_log_subscribe_route


class Worker(Protocol):
    base_url: str
    up: bool


def install_proxy_routes(app: web.Application, workers: Sequence[Worker], primary: Callable[[], Worker],
                         session: Callable[[], ClientSession], send: Send) -> None:
    """Call after every route of the front's own: the catch-all is registered here. (aiohttp 3.10+
    tries the longest matching path prefix first, so a front route would win anyway; registering it
    last keeps that true for a route at `/` and for older releases, which match in order.)
    `primary` names the worker that answers, or raises 503; `session` is the front's client session
    (made at start-up); `send` the hub's, for the primary worker's `logs` messages (front/log_relay.py)."""
    routes = web.RouteTableDef()

    async def to_primary(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            # The one stock WebSocket (/ws) is the front's hub; a custom node's would need a relay.
            raise web.HTTPNotImplemented(text="process mode's front relays /ws only; it does not "
                                              f"proxy WebSocket {request.path}")
        return await forward(request, session(), primary().base_url)

    @routes.get("/view")
    async def view(request: web.Request) -> web.StreamResponse:
        if request.query.get("type") != "temp":
            return await to_primary(request)
        for worker in [w for w in workers if w.up]:
            try:
                async with session().head(worker.base_url + "/view", params=request.query) as probe:
                    found = probe.status != 404
            except aiohttp.ClientError:
                continue  # it died since it was listed (its socket closes a moment later): ask the next
            if found:
                return await forward(request, session(), worker.base_url)
        raise web.HTTPNotFound()

    app.add_routes(with_api_aliases(routes))
    # The Logs panel's subscription names a browser's client id, which only the front can reach.
    add_log_subscribe_route(app, LogRelay(lambda: primary().base_url, session, send))
    app.router.add_route("*", "/{tail:.*}", to_primary)
