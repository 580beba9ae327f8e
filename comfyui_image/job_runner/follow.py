"""Following one submitted (or adopted) prompt until it ends: WebSocket messages for progress and a prompt
end, a heartbeat that keeps the lease and the message, a history poll that catches what the socket
missed (an adopted prompt's messages go to the runner that submitted it), cancel, and a vanished pod."""
from __future__ import annotations

import asyncio
import time
from typing import Optional, Union

from .aws import ConditionFailed
from .comfy_client import PodUnreachable
from .context import Lease, PodHandle, RunnerContext, now_ms
from .log import log
from .outcome import Outcome, outcome_from_history, outcome_from_message
from .progress import ProgressTracker, write_due
from .slots import prompt_whereabouts
from .transitions import heartbeat

LOST = "lost"          # another runner holds the job now: stop, touch nothing
POD_GONE = "pod_gone"  # the pod stopped answering: hand the job back
RELEASED = "released"  # the runner is stopping: release the lease, the prompt keeps running
PROMPT_LOST = "prompt_lost"  # the pod answers but has no trace of the prompt (ComfyUI restarted): hand back
#: Consecutive unanswered polls before a pod counts as gone (one blip must not run a job twice).
POD_FAILURES_TO_GIVE_UP = 3
#: Consecutive polls finding the prompt neither queued, running nor in the history before it counts as lost.
#: Two, because the history and the queue are read one after the other, and the prompt can move between them.
ABSENT_POLLS_TO_GIVE_UP = 2
#: How long to look for a history entry that should already be there (a custom executor may write it late).
HISTORY_WAIT_SECONDS = 5.0


async def follow_prompt(ctx: RunnerContext, lease: Lease, pod: PodHandle, prompt: dict,
                        inbox: "asyncio.Queue", on_prompt_end, adopted: bool = False) -> Union[Outcome, str]:
    """The prompt's Outcome (with its history entry in `on_prompt_end`), LOST, POD_GONE, PROMPT_LOST or
    RELEASED.
    An adopted prompt's messages go to the runner that submitted it: its history is read at once."""
    settings, prompt_id, gpu = ctx.settings, lease.worker["prompt_id"], lease.worker.get("gpu")
    tracker = ProgressTracker(prompt)
    tick = min(settings.progress_min_interval_seconds, settings.heartbeat_seconds)
    # The first progress write waits one interval too: a prompt that ends sooner costs no write at all.
    last_beat = last_progress = time.monotonic()
    if adopted:
        last_beat = 0.0
    failures, absent, cancelling = 0, 0, False
    while True:
        if ctx.stopping.is_set():
            return RELEASED
        try:
            event, data = await asyncio.wait_for(inbox.get(), timeout=tick)
        except asyncio.TimeoutError:
            event, data = None, None
        if event is not None:
            tracker.apply(event, data)
            lease.progress = tracker.snapshot()
            ended = outcome_from_message(event, data)
            if ended is not None and ended.kind != "success":
                on_prompt_end({})
                return ended
            # The history is written before `executing` with node None goes out (ComfyUI main.py
            # prompt_worker: task_done, then send_sync), not before execution_success: read it then.
            if event == "executing" and data.get("node") is None:
                entry = await _history_once_written(pod, prompt_id)
                if entry is not None:
                    on_prompt_end(entry)
                    return outcome_from_history(entry)
        now = time.monotonic()
        beat_due = now - last_beat >= settings.heartbeat_seconds
        progress = tracker.take_if_changed() if write_due(now, last_progress, tick) else None
        if progress is None and not beat_due:
            continue
        try:
            item = await ctx.store.update(heartbeat(ctx.contract, lease.job_id, attempt=lease.attempt,
                                                    now_ms=now_ms(), lease_ms=int(settings.lease_seconds * 1000),
                                                    progress=progress))
        except ConditionFailed:
            log("job_lost", job_id=lease.job_id, attempt=lease.attempt)
            return LOST
        if progress is not None:
            last_progress = now
        lease.cancel_requested = item.get("cancel_requested") is True
        if not beat_due and not (lease.cancel_requested and not cancelling):
            continue
        last_beat = now
        try:
            await ctx.queue.hide(lease.receipt, settings.visibility_timeout_seconds)
        except Exception as error:  # the message may be gone (deleted by a DLQ redrive); the lease rules
            log("visibility_extend_failed", job_id=lease.job_id, error=repr(error))
        try:
            entry = (await pod.client.history(prompt_id)).get(prompt_id)
            if entry is not None:
                on_prompt_end(entry)
                return outcome_from_history(entry)
            where = prompt_whereabouts(await pod.client.queue_all(), {}, prompt_id)
            failures = 0
            absent = absent + 1 if where == "absent" else 0
            if absent and lease.cancel_requested:  # deleted while pending: it will never run
                on_prompt_end({})
                return Outcome("interrupted")
            if absent >= ABSENT_POLLS_TO_GIVE_UP:
                log("prompt_lost", job_id=lease.job_id, pod=pod.name, prompt_id=prompt_id)
                return PROMPT_LOST
        except PodUnreachable as error:
            failures += 1
            log("pod_unanswered", job_id=lease.job_id, pod=pod.name, failures=failures, error=str(error))
            if failures >= POD_FAILURES_TO_GIVE_UP:
                return POD_GONE
            continue
        if lease.cancel_requested and not cancelling:
            cancelling = True
            log("job_cancelling", job_id=lease.job_id, prompt_id=prompt_id, where=where)
            try:
                if where == "queued":
                    await pod.client.delete_pending(prompt_id, gpu)
                else:
                    await pod.client.interrupt(prompt_id, gpu)
            except PodUnreachable as error:
                log("cancel_unanswered", job_id=lease.job_id, error=str(error))
            last_beat = 0.0  # look again at once: a deleted prompt sends no message


async def _history_once_written(pod: PodHandle, prompt_id: str) -> Optional[dict]:
    deadline = time.monotonic() + HISTORY_WAIT_SECONDS
    delay = 0.02
    while True:
        try:
            entry = (await pod.client.history(prompt_id)).get(prompt_id)
        except PodUnreachable:
            return None
        if entry is not None or time.monotonic() > deadline:
            return entry
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.5)
