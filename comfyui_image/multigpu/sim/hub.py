"""WebSocket clients by client id, in ComfyUI's message format ({"type", "data"}).

`send` is called from worker threads; it hands the message to the event loop thread, as
ComfyUI's PromptServer.send_sync does.
"""
from __future__ import annotations

import asyncio
import json
from typing import Dict, Optional, Set

from aiohttp import web


class WebSocketHub:
    def __init__(self) -> None:
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._sockets: Dict[str, Set[web.WebSocketResponse]] = {}
        self._outbox: "Optional[asyncio.Queue]" = None
        self._pump: "Optional[asyncio.Task]" = None

    async def start(self) -> None:
        """Bind to the running loop; one pump sends messages in the order they were produced."""
        self._loop = asyncio.get_running_loop()
        self._outbox = asyncio.Queue()
        self._pump = asyncio.ensure_future(self._run_pump())

    async def stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
        for group in list(self._sockets.values()):
            for socket in list(group):
                await socket.close()

    def add(self, client_id: str, socket: web.WebSocketResponse) -> None:
        self._sockets.setdefault(client_id, set()).add(socket)

    def remove(self, client_id: str, socket: web.WebSocketResponse) -> None:
        sockets = self._sockets.get(client_id)
        if sockets:
            sockets.discard(socket)
            if not sockets:
                del self._sockets[client_id]

    def send(self, event: str, data: dict, client_id: Optional[str]) -> None:
        """Thread-safe: to one client, or to all when client_id is None."""
        if self._loop is None or self._loop.is_closed():
            return
        text = json.dumps({"type": event, "data": data})
        self._loop.call_soon_threadsafe(self._deliver, text, client_id)

    def _deliver(self, text: str, client_id: Optional[str]) -> None:
        if client_id is None:
            targets = [s for group in self._sockets.values() for s in group]
        else:
            targets = list(self._sockets.get(client_id, ()))
        for socket in targets:
            self._outbox.put_nowait((socket, text))

    async def send_now(self, socket: web.WebSocketResponse, event: str, data: dict) -> None:
        await self._safe_send(socket, json.dumps({"type": event, "data": data}))

    async def _run_pump(self) -> None:
        while True:
            socket, text = await self._outbox.get()
            await self._safe_send(socket, text)

    @staticmethod
    async def _safe_send(socket: web.WebSocketResponse, text: str) -> None:
        if socket.closed:
            return
        try:
            await socket.send_str(text)
        except (ConnectionResetError, RuntimeError):
            pass  # the client went away; its next reconnect gets fresh status
