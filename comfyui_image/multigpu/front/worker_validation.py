"""A prompt validated by a worker ComfyUI before the front queues it (process mode): the node pack's
POST /multigpu/validate (worker_pack/multigpu_worker), which runs stock validation without queueing.

A worker that gives no verdict (the pack did not load, a traceback, a dropped connection) is a 502
naming that worker and what it said, not a bare 500 from the front."""
from __future__ import annotations

from typing import List, Optional, Tuple

import aiohttp
from aiohttp import web

VALIDATE_PATH = "/multigpu/validate"


async def validate_on_worker(session: aiohttp.ClientSession, base_url: str, gpu: int,
                             body: dict) -> Tuple[Optional[dict], List[str]]:
    """(the worker's 400 body, []) for a refused prompt, (None, outputs to execute) for a valid one.
    The client's partial_execution_targets go along, as stock POST /prompt validates with them."""
    request = {"prompt": body.get("prompt"), "partial_execution_targets": body.get("partial_execution_targets")}
    try:
        async with session.post(base_url + VALIDATE_PATH, json=request) as response:
            if response.status == 404:
                raise web.HTTPBadGateway(text=(
                    f"ComfyUI for GPU {gpu} has no POST {VALIDATE_PATH} (HTTP 404): the multigpu_worker node "
                    f"pack did not load there; the worker's log lines ([gpu {gpu}]) say why"))
            try:
                answer = await response.json() if response.status in (200, 400) else None
            except (aiohttp.ContentTypeError, ValueError):  # not JSON
                answer = None
            if not isinstance(answer, dict):
                raise web.HTTPBadGateway(text=(
                    f"ComfyUI for GPU {gpu} answered POST {VALIDATE_PATH} with HTTP {response.status}, not a "
                    f"verdict: {(await response.text(errors='replace'))[:300]!r}"))
    except aiohttp.ClientError as error:
        raise web.HTTPBadGateway(text=f"ComfyUI for GPU {gpu} could not validate the prompt "
                                      f"(POST {VALIDATE_PATH}): {type(error).__name__}: {error}") from None
    if response.status != 200:
        return answer, []
    return None, list(answer.get("outputs_to_execute") or [])
