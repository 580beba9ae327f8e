"""A WebSocket client per prompt, as a browser tab: connect with a fresh clientId, submit, read
every JSON message until the prompt's `executing` with node None (its end)."""
from __future__ import annotations

import asyncio
import json
import uuid
from typing import Callable, List, Optional, Tuple

import aiohttp

from comfyui_process import http

# (message type, its data's prompt_id or None)
Seen = List[Tuple[str, Optional[str]]]


async def run_watched(base: str, prompt: dict, gpu: Optional[int]) -> Tuple[str, Seen]:
    client_id = str(uuid.uuid4())
    headers = {} if gpu is None else {"X-TARGET-GPU": str(gpu)}
    seen: Seen = []
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{base.replace('http://', 'ws://')}/ws?clientId={client_id}") as ws:
            status, body = await asyncio.to_thread(
                http, "POST", base + "/prompt", {"prompt": prompt, "client_id": client_id}, headers)
            assert status == 200, body
            prompt_id = body["prompt_id"]
            async for message in ws:
                if message.type != aiohttp.WSMsgType.TEXT:
                    continue
                data = json.loads(message.data)
                seen.append((data["type"], data["data"].get("prompt_id")))
                if data["type"] == "executing" and data["data"].get("node") is None \
                        and data["data"].get("prompt_id") == prompt_id:
                    return prompt_id, seen
    raise AssertionError(f"the WebSocket closed before {prompt_id} ended: {seen}")


def run_on_every_worker(base: str, prompt_for: Callable[[int], dict], workers: int,
                        timeout: float = 120.0) -> List[Tuple[str, Seen]]:
    """One watched prompt pinned to each worker at once; (prompt id, messages seen) per worker."""
    async def every_worker():
        return await asyncio.wait_for(
            asyncio.gather(*(run_watched(base, prompt_for(gpu), gpu) for gpu in range(workers))), timeout)

    return asyncio.run(every_worker())
