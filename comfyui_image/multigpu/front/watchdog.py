"""Kill a worker whose server stopped answering while its process lives (a wedged event loop:
design 3.6), so the crash path fails its prompt and restarts it.

Every `interval_s` each worker that has served since its (re)start gets GET /system_stats with
`interval_s` to answer; after `failures` misses in a row the supervisor kills it. A worker still
starting (importing torch and its nodes can take minutes) is not asked, but one that has not served
`startup_s` after its start (a custom node's import that blocks) is killed too: otherwise its GPU
stayed out of service for ever while the pod reported healthy. The supervisor restarts either with
its usual backoff.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable, Dict, List, Optional, Tuple

import aiohttp

from ..http.worker_link import HttpWorkerLink
from .supervisor import WorkerSupervisor

log = logging.getLogger("multigpu.watchdog")

DEFAULT_INTERVAL_S = 10.0
DEFAULT_FAILURES = 3
# The front's warmup timeout (COMFY_WARMUP_TIMEOUT_S) is passed as startup_s: the time a worker's
# first start is given to open its socket applies to every restart too.
DEFAULT_STARTUP_S = 600.0


class WorkerWatchdog:
    def __init__(self, links: List[HttpWorkerLink], supervisor: WorkerSupervisor, *,
                 interval_s: float = DEFAULT_INTERVAL_S, failures: int = DEFAULT_FAILURES,
                 startup_s: float = DEFAULT_STARTUP_S, clock: Callable[[], float] = time.monotonic):
        if interval_s <= 0 or failures < 1 or startup_s <= 0:
            raise ValueError("the watchdog needs interval_s > 0, failures >= 1 and startup_s > 0")
        self._links, self._supervisor = links, supervisor
        self._interval_s, self._failures = interval_s, failures
        self._startup_s, self._clock = startup_s, clock
        # gpu -> (pid, when the watchdog first saw it): a start, to within one interval.
        self._starts: Dict[int, Tuple[int, float]] = {}
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
            await self.check_once(session)
            await asyncio.sleep(self._interval_s)

    async def check_once(self, session: aiohttp.ClientSession) -> None:
        """One round over every worker (the loop's body)."""
        await asyncio.gather(*(self._check(session, link) for link in self._links))

    async def _check(self, session: aiohttp.ClientSession, link: HttpWorkerLink) -> None:
        gpu, pid = link.gpu_id, self._supervisor.pid(link.gpu_id)
        if pid is None:
            return
        if link.up:
            self._served[gpu] = pid
        if self._served.get(gpu) != pid:
            self._check_startup(gpu, pid)  # this process has not served yet: still starting
            return
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

    def _check_startup(self, gpu: int, pid: int) -> None:
        started = self._starts.get(gpu)
        if started is None or started[0] != pid:
            self._starts[gpu] = (pid, self._clock())
        elif self._clock() - started[1] >= self._startup_s:
            self._starts[gpu] = (pid, float("inf"))  # killed once: its exit restarts it
            self._supervisor.kill(gpu, f"ComfyUI for GPU {gpu} did not open its WebSocket within "
                                       f"{self._startup_s:g} s of its start (COMFY_WARMUP_TIMEOUT_S: a "
                                       f"custom node's import that hangs?); killed")
