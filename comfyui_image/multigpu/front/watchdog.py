"""Kill a worker whose server stopped answering while its process lives (a wedged event loop:
design 3.6), so the crash path fails its prompt and restarts it.

Every `interval_s` each worker that has served since its (re)start gets GET /system_stats with
`interval_s` to answer; after `failures` misses in a row the supervisor kills it. A worker still
starting (importing torch and its nodes can take minutes) is left alone.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Dict, List, Optional

import aiohttp

from ..http.worker_link import HttpWorkerLink
from .supervisor import WorkerSupervisor

log = logging.getLogger("multigpu.watchdog")

DEFAULT_INTERVAL_S = 10.0
DEFAULT_FAILURES = 3


class WorkerWatchdog:
    def __init__(self, links: List[HttpWorkerLink], supervisor: WorkerSupervisor, *,
                 interval_s: float = DEFAULT_INTERVAL_S, failures: int = DEFAULT_FAILURES):
        if interval_s <= 0 or failures < 1:
            raise ValueError("the watchdog needs interval_s > 0 and failures >= 1")
        self._links, self._supervisor = links, supervisor
        self._interval_s, self._failures = interval_s, failures
        self._served: Dict[int, Optional[int]] = {}  # gpu -> pid seen serving
        self._misses: Dict[int, int] = {}
        self._task: "Optional[asyncio.Task]" = None

    async def start(self, session: aiohttp.ClientSession) -> None:
        self._task = asyncio.ensure_future(self._run(session))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self, session: aiohttp.ClientSession) -> None:
        while True:
            await asyncio.gather(*(self._check(session, link) for link in self._links))
            await asyncio.sleep(self._interval_s)

    async def _check(self, session: aiohttp.ClientSession, link: HttpWorkerLink) -> None:
        gpu, pid = link.gpu_id, self._supervisor.pid(link.gpu_id)
        if pid is None:
            return
        if link.up:
            self._served[gpu] = pid
        if self._served.get(gpu) != pid:
            return  # this process has not served yet: still starting
        try:
            timeout = aiohttp.ClientTimeout(total=self._interval_s)
            async with session.get(link.base_url + "/system_stats", timeout=timeout) as response:
                answered = response.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError):
            answered = False
        self._misses[gpu] = 0 if answered else self._misses.get(gpu, 0) + 1
        if self._misses[gpu] >= self._failures:
            self._misses[gpu] = 0
            self._served[gpu] = None
            self._supervisor.kill(gpu, f"ComfyUI for GPU {gpu} did not answer GET /system_stats "
                                       f"{self._failures} times in a row ({self._interval_s:g} s each); killed")
