"""POST /multigpu/save-lock: a worker's output file-name lock, granted by the front (process mode,
docs/process-mode-design.md 3.7; the rule is core/save_locks.py).

The node pack's wrapped `folder_paths.get_save_image_path` (worker_pack/multigpu_worker/save_lock.py)
sends {gpu, folder, prefix, prompt_id, node} and waits for the answer before ComfyUI lists the folder:
200 {"granted": true} once this worker holds (folder, prefix); 400 for a malformed body; 409 when
the worker exited while waiting. The wait happens on the event loop: a refused request sleeps on an
asyncio event that every release sets (releases happen on the loop and on the GPU threads), so no
thread blocks for it.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Optional

from aiohttp import web

from ..core.save_locks import SaveLocks, WorkerGone, save_lock_key

log = logging.getLogger("multigpu.front")

SAVE_LOCK_PATH = "/multigpu/save-lock"
# A waiting request also looks this often whether its worker hung up (it gave up and saved
# without the lock, save_lock.py); correctness never depends on it.
RECHECK_S = 5.0


class _Releases:
    """An asyncio event per round of waiting, set from any thread after a release."""

    def __init__(self) -> None:
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self.event: Optional[asyncio.Event] = None

    async def start(self, app: web.Application) -> None:
        self._loop = asyncio.get_running_loop()
        self.event = asyncio.Event()

    def notify(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._next_round)

    def _next_round(self) -> None:
        event, self.event = self.event, asyncio.Event()
        event.set()


def install_save_lock_routes(app: web.Application, save_locks: SaveLocks, num_gpus: int) -> None:
    releases = _Releases()
    save_locks.listen(releases.notify)
    app.on_startup.append(releases.start)

    async def save_lock(request: web.Request) -> web.Response:
        gpu, key, node = _parse(await request.json(), num_gpus)
        life = save_locks.life(gpu)
        while True:
            round_ = releases.event  # before trying: a release after the try sets this one
            try:
                if save_locks.try_take(gpu, key, node, life):
                    return web.json_response({"granted": True})
            except WorkerGone as gone:
                raise web.HTTPConflict(text=str(gone))
            if request.transport is None or request.transport.is_closing():
                log.warning("GPU %d stopped waiting for the save lock on %s", gpu, key[1])
                raise web.HTTPConflict(text="the worker stopped waiting")
            try:
                await asyncio.wait_for(round_.wait(), RECHECK_S)
            except asyncio.TimeoutError:
                pass

    app.router.add_post(SAVE_LOCK_PATH, save_lock)


def _parse(body: object, num_gpus: int):
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="the body must be a JSON object {gpu, folder, prefix}")
    gpu, folder, prefix = body.get("gpu"), body.get("folder"), body.get("prefix")
    if not isinstance(gpu, int) or isinstance(gpu, bool) or not 0 <= gpu < num_gpus:
        raise web.HTTPBadRequest(text=f"gpu must be 0..{num_gpus - 1}, got {gpu!r}")
    if not isinstance(folder, str) or not folder or not isinstance(prefix, str):
        raise web.HTTPBadRequest(text="folder (non-empty) and prefix must be strings")
    prompt_id, node = body.get("prompt_id"), body.get("node")
    named = isinstance(prompt_id, str) and isinstance(node, str)
    return gpu, save_lock_key(folder, prefix), (prompt_id, node) if named else None
