"""One WebSocket per pod (GET /ws?clientId=<ours>) whose messages are handed to the job following each
prompt. ComfyUI sends a prompt's messages to the client id that submitted it; binary frames are previews."""
from __future__ import annotations

import asyncio
import json
from typing import Dict, Optional, Tuple

import aiohttp

from .log import log

Event = Tuple[str, dict]


class PodEvents:
    def __init__(self, session: aiohttp.ClientSession, pod: str, base_url: str, client_id: str) -> None:
        self._session, self._pod, self._url = session, pod, f"{base_url}/ws?clientId={client_id}"
        self._inboxes: Dict[str, "asyncio.Queue[Event]"] = {}
        self._task: Optional[asyncio.Task] = None
        self.connected = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def subscribe(self, prompt_id: str) -> "asyncio.Queue[Event]":
        return self._inboxes.setdefault(prompt_id, asyncio.Queue())

    def unsubscribe(self, prompt_id: str) -> None:
        self._inboxes.pop(prompt_id, None)

    async def _run(self) -> None:
        delay = 0.2
        while True:
            try:
                async with self._session.ws_connect(self._url, heartbeat=20) as socket:
                    self.connected.set()
                    delay = 0.2
                    async for message in socket:
                        if message.type == aiohttp.WSMsgType.TEXT:
                            self._dispatch(message.data)
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as error:
                log("pod_websocket_lost", pod=self._pod, error=repr(error))
            self.connected.clear()
            # Missed messages are not lost for good: each job also polls its prompt's history.
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _dispatch(self, text: str) -> None:
        try:
            message = json.loads(text)
            event, data = message["type"], message.get("data") or {}
        except (ValueError, KeyError, TypeError):
            return
        inbox = self._inboxes.get(data.get("prompt_id")) if isinstance(data, dict) else None
        if inbox is not None:
            inbox.put_nowait((event, data))
