"""Stock ComfyUI's cross-origin rule, for the front's own routes.

Stock's server (server.py, PromptServer.__init__) puts one of two middlewares in front of every
route: with `--enable-cors-header [ORIGIN]` it answers preflights and allows that origin (`*` when
none is named); without it, a request whose Origin names another site than its loopback Host is
refused with 403, so a web page cannot queue prompts on a ComfyUI on the user's own machine (a
browser sends such a POST without a preflight). In process mode the workers still apply it, but
only to what the front proxies; /prompt, /interrupt, /queue, /history, /free and /api/jobs are the
front's, so the front applies the same rule itself. Thread mode needs nothing: its routes live in
stock's app.

One difference, on purpose: a Host is loopback only when it is a loopback address or `localhost`
(or a name under `.localhost`, which RFC 6761 reserves for it). Stock also resolves other names,
synchronously; here that would hold the event loop that relays every GPU's messages.
"""
from __future__ import annotations

import argparse
import ipaddress
import logging
from typing import Awaitable, Callable, Optional, Sequence
from urllib.parse import urlsplit

from aiohttp import web

log = logging.getLogger("multigpu.front")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# What stock's CORS middleware allows (server.py create_cors_middleware).
CORS_HEADERS = {
    "Access-Control-Allow-Methods": "POST, GET, DELETE, PUT, OPTIONS, PATCH",
    "Access-Control-Allow-Headers": "Content-Type, Authorization",
    "Access-Control-Allow-Credentials": "true",
}


def cors_origin_from_args(main_args: Sequence[str]) -> Optional[str]:
    """The origin `--enable-cors-header` allows in ComfyUI's arguments (`*` when it names none), or
    None when the flag is absent."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--enable-cors-header", nargs="?", const="*", default=None)
    known, _ = parser.parse_known_args(list(main_args))
    return known.enable_cors_header


def _is_loopback_host(hostname: Optional[str]) -> bool:
    if not hostname:
        return False
    name = hostname.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def cross_site_refusal(host: Optional[str], origin: Optional[str]) -> Optional[str]:
    """Why a request from `origin` to a loopback `host` is refused (None when it is not): stock's
    comparison, host and port, where a side that gives no port is compared by name only."""
    if not host or not origin:
        return None
    target = urlsplit("//" + host.lower())
    source = urlsplit(origin.lower())
    if not _is_loopback_host(target.hostname):
        return None
    try:
        ports_known = target.port is not None and source.port is not None
    except ValueError:  # a port that is not a number: nothing to compare it with
        return f"Origin {origin!r} does not match Host {host!r}"
    if ports_known:
        same = (target.hostname, target.port) == (source.hostname, source.port)
    else:
        same = target.hostname == source.hostname
    return None if same else f"Origin {origin!r} does not match Host {host!r}"


def origin_guard(cors_origin: Optional[str]):
    """The middleware: CORS for `cors_origin` when given, else stock's same-origin rule on loopback."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if cors_origin is None:
            reason = cross_site_refusal(request.headers.get("Host"), request.headers.get("Origin"))
            if reason is not None:
                log.warning("Refused %s %s: %s (start ComfyUI with --enable-cors-header to allow "
                            "other sites)", request.method, request.path, reason)
                return web.Response(status=403)
        if request.method == "OPTIONS":
            response: web.StreamResponse = web.Response()
        else:
            response = await handler(request)
        if cors_origin is not None and not response.prepared:  # a WebSocket or stream has sent its headers
            response.headers["Access-Control-Allow-Origin"] = cors_origin
            response.headers.update(CORS_HEADERS)
        return response

    return guard
