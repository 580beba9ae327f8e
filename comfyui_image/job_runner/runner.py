"""The runner's loop: know the pods, find idle GPUs, receive at most that many messages, run each job as a
task; on stop, release every lease and make its message visible so the next runner adopts the prompt."""
from __future__ import annotations

import asyncio
import time
import uuid
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

import aiohttp

from .comfy_client import ComfyClient, PodUnreachable
from .context import PodHandle, RunnerContext
from .deletion_cost import DeletionCosts
from .job import handle_message, release_lease
from .kube import PodDiscovery
from .log import log
from .pod_events import PodEvents
from .pods import Pod
from .scaling import PodLoad, ScalingView, pod_load
from .slots import idle_gpus

#: Pause between looks at the pods while no GPU is idle (each look is one GET /queue/all per pod).
IDLE_POLL_SECONDS = 0.25
#: On SIGTERM, how long jobs get to release their own leases; well inside Kubernetes' default 30 s
#: terminationGracePeriodSeconds.
SHUTDOWN_GRACE_SECONDS = 15.0


class Runner:
    def __init__(self, ctx: RunnerContext, session: aiohttp.ClientSession, discovery: PodDiscovery, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ctx, self._session, self._discovery = ctx, session, discovery
        settings = ctx.settings
        #: GET /scaling's numbers (scaling.py): the pods' queues from each turn, the rest from ScalingMonitor.
        self.scaling = ScalingView(clock=clock, stale_seconds=settings.scaling_stale_seconds)
        self._costs = DeletionCosts(clock=clock, idle_after_seconds=settings.deletion_cost_idle_seconds)
        self._held: Dict[str, Set[int]] = {}   # pod -> GPUs given a job whose prompt has not ended
        self._tasks: Set[asyncio.Task] = set()
        self._stopping = asyncio.Event()
        self._slot_freed = asyncio.Event()  # wakes the loop as soon as a GPU may be idle again
        self.loops = 0
        self.last_loop = time.monotonic()

    def stop(self) -> None:
        self._stopping.set()
        self.ctx.stopping.set()

    async def run(self) -> None:
        log("runner_started", runner=self.ctx.settings.runner_name, client_id=self.ctx.client_id)
        try:
            while not self._stopping.is_set():
                self.loops += 1
                self.last_loop = time.monotonic()
                try:
                    await self._once()
                except Exception as error:  # AWS or the Kubernetes API unavailable: retry, stay alive
                    log("loop_error", error=repr(error))
                    await self._pause(2.0)
        finally:
            await self._shut_down()

    async def _once(self) -> None:
        pods = await self._discovery.list()
        await self._refresh_pods(pods)
        self._slot_freed.clear()
        free = await self._idle_slots(pods)
        if not free:
            return await self._pause(IDLE_POLL_SECONDS, wake=self._slot_freed)
        asked = time.monotonic()
        messages = await self.ctx.queue.receive(len(free), self.ctx.settings.receive_wait_seconds,
                                                self.ctx.settings.visibility_timeout_seconds)
        if not messages:
            return
        log("messages_received", count=len(messages), idle_gpus=len(free),
            seconds=round(time.monotonic() - asked, 3))
        # A pod may have started terminating (or turned unready) during the long poll: look again, so a job
        # received meanwhile never goes to it (a spot node's pods are deleted on its interruption notice).
        try:
            still = {p.name for p in await self._discovery.list()}
        except Exception:
            await self._return_messages(messages)  # unsure which pods are ready: none waits out its hold
            raise
        slots = [] if self._stopping.is_set() else [(pod, gpu) for pod, gpu in free if pod in still]
        await self._return_messages(messages[len(slots):])
        for message, (pod, gpu) in zip(messages, slots):
            self._held.setdefault(pod, set()).add(gpu)
            task = asyncio.ensure_future(handle_message(self.ctx, message, pod, gpu, self._releaser(pod, gpu)))
            self._tasks.add(task)
            task.add_done_callback(self._task_done)

    async def _return_messages(self, messages: List[dict]) -> None:
        """Received but not taken (stopping, or their pod left during the receive): visible again at once, the
        job untouched."""
        for message in messages:
            await self.ctx.queue.hide(message["ReceiptHandle"], 0)
        if messages:
            log("messages_returned", count=len(messages), stopping=self._stopping.is_set())

    def _releaser(self, pod: str, gpu: int):
        released = []

        def release_slot() -> None:
            if not released:
                released.append(True)
                self._held.get(pod, set()).discard(gpu)
                self._slot_freed.set()
        return release_slot

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log("job_task_failed", error=repr(task.exception()))

    async def _idle_slots(self, pods: Sequence[Pod]) -> List[Tuple[str, int]]:
        """Idle GPUs of the pods discovery lists now: one that left it (terminating) may still be followed
        for a job it runs, but takes no new one. The same answers feed /scaling and the deletion costs."""
        ready = {p.name for p in pods}
        handles = [h for name, h in self.ctx.pods.items() if name in ready]
        answers = await asyncio.gather(*(h.client.queue_all() for h in handles), return_exceptions=True)
        free, loads = [], {}
        for handle, answer in zip(handles, answers):
            if isinstance(answer, PodUnreachable):
                continue
            if isinstance(answer, BaseException):
                raise answer
            loads[handle.name] = pod_load(answer)
            free += [(handle.name, gpu) for gpu in idle_gpus(answer, self._held.get(handle.name, set()))]
        self.scaling.pods_seen(ready, loads)
        await self._mark_busy_pods(pods, loads)
        return free

    async def _mark_busy_pods(self, pods: Sequence[Pod], loads: Dict[str, PodLoad]) -> None:
        """Busy pods go last on a scale-in (deletion_cost.py); only on busy/idle changes, so rarely."""
        if not self._discovery.in_cluster:
            return
        self._costs.forget_all_but(p.name for p in pods)
        for pod in pods:
            cost = self._costs.decide(pod.name, pod.deletion_cost, loads[pod.name]) if pod.name in loads else None
            if cost is None:
                continue
            try:
                await self._discovery.set_deletion_cost(pod.name, cost)
                log("deletion_cost_set", pod=pod.name, cost=cost)
            except Exception as error:  # not allowed (yet), or the pod went: the loop goes on
                self._costs.refused(pod.name)
                log("deletion_cost_refused", pod=pod.name, cost=cost, error=str(error)[:300])

    async def _refresh_pods(self, pods) -> None:
        """Start a WebSocket for each new pod; a pod that left discovery keeps its handle while a job
        follows it (it may still be draining); its socket stops with the runner."""
        for pod in pods:
            handle = self.ctx.pods.get(pod.name)
            if handle is None or handle.client.base_url != pod.base_url:
                if handle is not None:
                    await handle.events.stop()
                events = PodEvents(self._session, pod.name, pod.base_url, self.ctx.client_id)
                events.start()
                self.ctx.pods[pod.name] = PodHandle(pod.name, ComfyClient(self._session, pod.base_url), events)
                log("pod_found", pod=pod.name, url=pod.base_url)
        names = {p.name for p in pods}
        busy = {lease.worker.get("pod") for lease in self.ctx.leases.values()}
        for name in [n for n in self.ctx.pods if n not in names and n not in busy]:
            await self.ctx.pods.pop(name).events.stop()
            log("pod_gone", pod=name)

    async def _pause(self, seconds: float, wake: Optional[asyncio.Event] = None) -> None:
        waits = [asyncio.ensure_future(e.wait()) for e in (self._stopping, wake) if e is not None]
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        for waiting in waits:
            waiting.cancel()

    async def _shut_down(self) -> None:
        """The prompts keep running on their GPUs; the next runner adopts them (docs/jobs.md, Runner). Each
        job releases its own lease at its next step (no heartbeat can land after the release); one still
        busy after the grace period (a long upload) is cancelled and released here."""
        self.ctx.stopping.set()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=SHUTDOWN_GRACE_SECONDS)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for lease in list(self.ctx.leases.values()):
            try:
                await release_lease(self.ctx, lease)
            except Exception as error:
                log("release_failed", job_id=lease.job_id, error=repr(error))
        self.ctx.leases.clear()
        for handle in self.ctx.pods.values():
            await handle.events.stop()
        log("runner_stopped", runner=self.ctx.settings.runner_name)


def new_client_id(runner_name: str) -> str:
    return f"{runner_name}-{uuid.uuid4().hex[:8]}"
