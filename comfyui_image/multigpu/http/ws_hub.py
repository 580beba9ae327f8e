"""WebSocket clients by client id, in ComfyUI's message format ({"type", "data"}) and its binary
preview frames (core/previews.py).

`send` and `send_binary` are called from worker threads; they hand the message to the event loop
thread, as ComfyUI's PromptServer.send_sync does. A type-4 preview goes as it is to sockets whose
client said `supports_preview_metadata` (its feature_flags message), as type 1 to the others.
"""
from __future__ import annotations

import asyncio
import json
from typing import Dict, Optional, Set, Union

from aiohttp import web

from ..core.previews import without_metadata

Payload = Union[str, bytes]


class WebSocketHub:
    def __init__(self) -> None:
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._sockets: Dict[str, Set[web.WebSocketResponse]] = {}
        self._metadata_ok: Set[web.WebSocketResponse] = set()
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
        self._metadata_ok.discard(socket)
        sockets = self._sockets.get(client_id)
        if sockets:
            sockets.discard(socket)
            if not sockets:
                del self._sockets[client_id]

    def client_message(self, socket: web.WebSocketResponse, text: str) -> bool:
        """A client's text message: ComfyUI reads only feature_flags (server.py websocket_handler);
        True when it was one (stock answers with the server's own flags)."""
        try:
            message = json.loads(text)
        except ValueError:
            return False
        if not isinstance(message, dict) or message.get("type") != "feature_flags":
            return False
        data = message.get("data")
        if isinstance(data, dict) and data.get("supports_preview_metadata"):
            self._metadata_ok.add(socket)
        return True

    def send(self, event: str, data: dict, client_id: Optional[str]) -> None:
        """Thread-safe: to one client, or to all when client_id is None."""
        self._post(json.dumps({"type": event, "data": data}), client_id)

    def send_binary(self, frame: bytes, client_id: Optional[str]) -> None:
        """Thread-safe: a binary frame, to one client or to all."""
        self._post(frame, client_id)

    def _post(self, payload: Payload, client_id: Optional[str]) -> None:
        if self._loop is None or self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._deliver, payload, client_id)

    def _deliver(self, payload: Payload, client_id: Optional[str]) -> None:
        if client_id is None:
            targets = [s for group in self._sockets.values() for s in group]
        else:
            targets = list(self._sockets.get(client_id, ()))
        for socket in targets:
            if isinstance(payload, bytes) and socket not in self._metadata_ok:
                self._outbox.put_nowait((socket, without_metadata(payload)))
            else:
                self._outbox.put_nowait((socket, payload))

    async def send_now(self, socket: web.WebSocketResponse, event: str, data: dict) -> None:
        await self._safe_send(socket, json.dumps({"type": event, "data": data}))

    async def _run_pump(self) -> None:
        while True:
            socket, payload = await self._outbox.get()
            await self._safe_send(socket, payload)

    @staticmethod
    async def _safe_send(socket: web.WebSocketResponse, payload: Payload) -> None:
        if socket.closed:
            return
        try:
            if isinstance(payload, bytes):
                await socket.send_bytes(payload)
            else:
                await socket.send_str(payload)
        except (ConnectionResetError, RuntimeError):
            pass  # the client went away; its next reconnect gets fresh status
