"""Keeps the slower numbers of GET /scaling fresh beside the runner's loop: the jobs queue's backlog and each ready
pod's recent browser sessions (its /metrics), every SCALING_REFRESH_SECONDS. The pods' queues come from the loop's
own GET /queue/all (runner.py), so they are never older than one turn."""
from __future__ import annotations

import asyncio
from typing import Set

from .comfy_client import PodUnreachable
from .context import RunnerContext
from .log import log
from .scaling import SESSION_WINDOW_SERIES, SESSIONS_SERIES, ScalingView, gauge_values


class ScalingMonitor:
    def __init__(self, ctx: RunnerContext, view: ScalingView) -> None:
        self._ctx, self._view = ctx, view
        self._warned: Set[str] = set()

    async def run(self) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(self._ctx.settings.scaling_refresh_seconds)

    async def refresh(self) -> None:
        pods = [name for name in self._view.ready_pods if name in self._ctx.pods]
        await asyncio.gather(self._backlog(), *(self._sessions(name) for name in pods))

    async def _backlog(self) -> None:
        try:
            self._view.backlog_seen(await self._ctx.queue.backlog())
        except Exception as error:  # AccessDenied, throttling: /scaling turns 503 once it is stale
            log("backlog_unreadable", error=repr(error))

    async def _sessions(self, pod: str) -> None:
        handle = self._ctx.pods.get(pod)
        if handle is None:
            return
        try:
            text = await handle.client.metrics()
        except PodUnreachable as error:
            log("pod_metrics_unanswered", pod=pod, error=str(error))
            return
        # A pod without the gauge (no /metrics: stock ComfyUI) has no sessions the runner can see.
        values = gauge_values(text or "", (SESSIONS_SERIES, SESSION_WINDOW_SERIES))
        self._view.sessions_seen(pod, int(values.get(SESSIONS_SERIES, 0)))
        window = values.get(SESSION_WINDOW_SERIES)
        wanted = self._ctx.settings.session_activity_seconds
        if window is not None and abs(window - wanted) > 0.5 and pod not in self._warned:
            self._warned.add(pod)
            log("session_window_mismatch", pod=pod, pod_window_seconds=window, runner_window_seconds=wanted,
                fix="set the ComfyUI pods' COMFY_SESSION_ACTIVITY_S to the runner's SESSION_ACTIVITY_SECONDS")
