"""The web UI's Logs panel in process mode: PATCH /internal/logs/subscribe names the browser's
client id, which a worker cannot send to (its WebSocket is the front's), and stock drops a
subscription whose client has no socket on it (v0.33 api_server/services/terminal_service.py
send_messages). So the front keeps the subscribers itself and, while there are any, holds one
socket of its own to the primary worker, subscribed under its own id; every `logs` message on it
goes to each subscriber (the primary worker's log only: docs/process-mode-design.md 3.2).
The socket follows the primary: when it closes (the worker died) it reconnects to the next one.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Callable, Optional, Set

import aiohttp
from aiohttp import ClientSession, web

log = logging.getLogger("multigpu.front")

# The client id the front subscribes with on the worker (not one a browser mints: those are hex UUIDs).
LOGS_CLIENT_ID = "multigpu-front-logs"
Send = Callable[[str, dict, Optional[str]], None]


class LogRelay:
    def __init__(self, primary_url: Callable[[], str], session: Callable[[], ClientSession], send: Send,
                 retry_s: float = 1.0):
        """`primary_url` names the worker to follow (raises while none is up)."""
        self._primary_url = primary_url
        self._session = session
        self._send = send
        self._retry_s = retry_s
        self._subscribers: Set[str] = set()
        self._task: Optional[asyncio.Task] = None

    async def subscribe(self, client_id: str, enabled: bool) -> None:
        if enabled:
            self._subscribers.add(client_id)
        else:
            self._subscribers.discard(client_id)
        if self._subscribers and self._task is None:
            self._task = asyncio.ensure_future(self._follow_primary())
        elif not self._subscribers:
            await self.stop()  # closing the socket ends the worker's subscription at its next flush

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _follow_primary(self) -> None:
        while True:
            try:
                await self._relay_from(self._primary_url())
            except (aiohttp.ClientError, web.HTTPException, asyncio.TimeoutError, OSError) as error:
                log.debug("log relay: %s; retrying in %g s", error, self._retry_s)
            await asyncio.sleep(self._retry_s)

    async def _relay_from(self, base_url: str) -> None:
        session = self._session()
        async with session.ws_connect(f"{base_url}/ws?clientId={LOGS_CLIENT_ID}", heartbeat=30) as socket:
            # After the socket: the worker sends only to a client id it has a socket for.
            async with session.patch(base_url + "/internal/logs/subscribe",
                                     json={"clientId": LOGS_CLIENT_ID, "enabled": True}) as answer:
                answer.raise_for_status()
            async for message in socket:
                if message.type != aiohttp.WSMsgType.TEXT:
                    continue
                try:
                    event = json.loads(message.data)
                except ValueError:
                    event = None
                if not isinstance(event, dict):
                    # Raised out of here, it ended the relay until every subscriber had left.
                    log.debug("log relay: skipped a message that is not a JSON object: %.200r", message.data)
                    continue
                if event.get("type") == "logs":
                    for client_id in list(self._subscribers):
                        self._send("logs", event.get("data"), client_id)


def add_log_subscribe_route(app: web.Application, relay: LogRelay) -> None:
    """PATCH /internal/logs/subscribe, answered by the front (stock serves it under /internal only)."""

    async def subscribe(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            client_id, enabled = body["clientId"], body["enabled"]
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": 'the body must be {"clientId": "...", "enabled": true|false}'},
                                     status=400)
        await relay.subscribe(str(client_id), bool(enabled))
        return web.Response(status=200)

    app.router.add_patch("/internal/logs/subscribe", subscribe)
    app.on_cleanup.append(lambda app: relay.stop())
