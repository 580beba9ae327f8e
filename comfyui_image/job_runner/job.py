"""One received message, from pickup to completion: decide, pick up (or take over and adopt), submit,
follow, upload the outputs, complete exactly once."""
from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Callable, Optional, Tuple

from .aws import ConditionFailed
from .comfy_client import PodUnreachable
from .context import Lease, PodHandle, RunnerContext, now_ms
from .follow import LOST, POD_GONE, PROMPT_LOST, RELEASED, follow_prompt
from .log import log
from .outcome import Outcome, prompt_rejected
from .pickup import Pickup, decide_pickup, leave_for_seconds
from .slots import prompt_whereabouts
from .transitions import cancel_pending, finish, hand_back, pick_up, release, set_worker, take_over
from .upload import upload_outputs
from .workflow_prefix import rewrite_filename_prefixes


async def handle_message(ctx: RunnerContext, message: dict, pod_name: str, gpu: int,
                         release_slot: Callable[[], None]) -> None:
    """`pod_name`/`gpu` is the idle GPU this message was received for; `release_slot` frees it once the
    prompt no longer needs it (or was never sent there)."""
    received, receipt = time.monotonic(), message["ReceiptHandle"]
    try:
        job_id = str(json.loads(message["Body"])[ctx.contract.job_id_field])
    except (ValueError, KeyError, TypeError):
        log("message_malformed", body=message.get("Body", "")[:200])
        await ctx.queue.delete(receipt)
        return release_slot()
    acquired = await _acquire(ctx, job_id, receipt, pod_name, gpu)
    if acquired is None:
        return release_slot()
    lease, item, taken_over = acquired
    lease.received = received
    lease.mark("held")
    ctx.leases[job_id] = lease
    try:
        await _run(ctx, lease, item, taken_over, pod_name, gpu, release_slot)
    except asyncio.CancelledError:
        release_slot()
        raise  # stopped past the grace period: the runner releases what is left in ctx.leases
    ctx.leases.pop(job_id, None)
    release_slot()


async def _acquire(ctx: RunnerContext, job_id: str, receipt: str, pod_name: str,
                   gpu: int) -> Optional[Tuple[Lease, dict, bool]]:
    """(lease, item, taken over) once this runner holds the job; None when the message is dealt with.
    The pickup is tried first, so the usual case costs one call; its refusal returns the item to decide on."""
    now, lease_ms = now_ms(), int(ctx.settings.lease_seconds * 1000)
    worker = {"pod": pod_name, "gpu": gpu, "prompt_id": str(uuid.uuid4())}
    try:
        item = await ctx.store.update(pick_up(ctx.contract, job_id, now_ms=now, lease_ms=lease_ms,
                                              worker=worker, runner=ctx.settings.runner_name))
        return Lease(job_id, receipt, int(item["attempt"]), item["owner"], worker), item, False
    except ConditionFailed as refused:
        item = refused.item
    action = decide_pickup(ctx.contract, item, now)
    if action is Pickup.DROP:
        log("message_dropped", job_id=job_id, status=(item or {}).get("status"))
        await ctx.queue.delete(receipt)
        return None
    if action is Pickup.CANCEL:
        try:
            await ctx.store.update(cancel_pending(ctx.contract, job_id, now_ms=now))
        except ConditionFailed:
            pass  # changed meanwhile; the next delivery decides again
        await ctx.queue.delete(receipt)
        return None
    if action is Pickup.TAKE_OVER:
        seen = int(item.get("attempt") or 0)
        try:
            await ctx.store.update(take_over(ctx.contract, job_id, now_ms=now, lease_ms=lease_ms,
                                             seen_attempt=seen, runner=ctx.settings.runner_name))
            return (Lease(job_id, receipt, seen + 1, item["owner"], dict(item.get("worker") or {}),
                          cancel_requested=item.get("cancel_requested") is True), item, True)
        except ConditionFailed:
            pass  # another runner took it over first
    # Held by a live runner, a lost takeover race, or pending again after the refusal (a race): a later
    # delivery decides, once the holder's lease would have lapsed.
    log("message_left", job_id=job_id, action=action.value)
    await ctx.queue.hide(receipt, leave_for_seconds(item or {}, now, ctx.settings.heartbeat_seconds))
    return None


async def _run(ctx: RunnerContext, lease: Lease, item: dict, taken_over: bool, pod_name: str, gpu: int,
               release_slot) -> None:
    prompt = rewrite_filename_prefixes(json.loads(item["workflow_json"]), lease.job_id,
                                       ctx.contract.local_output_subfolder)
    pod = ctx.pod(lease.worker.get("pod"))
    adopted = False
    if taken_over:
        adopted = pod is not None and await _alive_on(pod, lease.worker.get("prompt_id", ""))
        log("job_taken_over", job_id=lease.job_id, attempt=lease.attempt, adopted=adopted,
            worker=lease.worker)
        if adopted:
            release_slot()  # it runs on its old GPU, not on the one received for
        else:
            if pod is not None and lease.worker.get("prompt_id"):
                await _quietly(pod.client.interrupt(lease.worker["prompt_id"], lease.worker.get("gpu")))
            lease.worker = {"pod": pod_name, "gpu": gpu, "prompt_id": str(uuid.uuid4())}
            try:
                await ctx.store.update(set_worker(ctx.contract, lease.job_id, attempt=lease.attempt,
                                                  worker=lease.worker, now_ms=now_ms()))
            except ConditionFailed:
                return log("job_lost", job_id=lease.job_id, attempt=lease.attempt)
            pod = ctx.pod(pod_name)
    if pod is None:
        return await give_back(ctx, lease, "pod_unknown")
    if ctx.stopping.is_set() and not adopted:
        return await release_lease(ctx, lease)
    inbox = pod.events.subscribe(lease.worker["prompt_id"])
    try:
        if not adopted:
            await _connected(pod)
            try:
                status, body = await pod.client.submit(prompt, prompt_id=lease.worker["prompt_id"],
                                                       client_id=ctx.client_id, gpu=lease.worker["gpu"])
            except PodUnreachable as error:
                log("submit_failed", job_id=lease.job_id, error=str(error))
                return await give_back(ctx, lease, "submit_failed")
            if status != 200:
                return await complete(ctx, lease, ctx.contract.status.failed,
                                      error=prompt_rejected(status, body))
            lease.mark("submitted")
            log("job_submitted", job_id=lease.job_id, attempt=lease.attempt, **lease.worker)
        history = {}

        def prompt_ended(entry: dict) -> None:
            lease.mark("prompt_ended")
            history.update(entry)
            release_slot()

        ended = await follow_prompt(ctx, lease, pod, prompt, inbox, prompt_ended, adopted)
    finally:
        pod.events.unsubscribe(lease.worker["prompt_id"])
    if ended == LOST:
        return
    if ended == RELEASED:
        return await release_lease(ctx, lease)
    if ended in (POD_GONE, PROMPT_LOST):
        return await give_back(ctx, lease, ended)
    await settle(ctx, lease, pod, ended, history)


async def settle(ctx: RunnerContext, lease: Lease, pod: PodHandle, ended: Outcome, history: dict) -> None:
    status = ctx.contract.status
    if ended.kind == "error":
        return await complete(ctx, lease, status.failed, error=ended.error)
    if ended.kind == "interrupted":
        if lease.cancel_requested:
            return await complete(ctx, lease, status.cancelled)
        return await complete(ctx, lease, status.failed, error={
            "type": "execution_interrupted", "exception_message":
                "the prompt was interrupted on the pod, not by a cancel of this job"})
    try:
        outputs = await upload_outputs(ctx, lease, pod, history)
    except PodUnreachable as error:
        log("outputs_unreachable", job_id=lease.job_id, error=str(error))
        return await give_back(ctx, lease, "outputs_unreachable")
    except FileNotFoundError as error:
        return await complete(ctx, lease, status.failed, error={
            "type": "output_missing", "exception_message": str(error)})
    await complete(ctx, lease, status.completed, outputs=outputs)


async def complete(ctx: RunnerContext, lease: Lease, status: str, *, outputs: Optional[list] = None,
                   error: Optional[dict] = None) -> None:
    try:
        await ctx.store.update(finish(ctx.contract, lease.job_id, attempt=lease.attempt, status=status,
                                      now_ms=now_ms(), outputs=outputs, error=error,
                                      progress=lease.progress))
        log("job_finished", job_id=lease.job_id, attempt=lease.attempt, status=status,
            outputs=len(outputs or []), error=(error or {}).get("type"), steps_ms=lease.step_ms())
    except ConditionFailed:
        log("finish_refused", job_id=lease.job_id, attempt=lease.attempt, status=status)
    await ctx.queue.delete(lease.receipt)


async def give_back(ctx: RunnerContext, lease: Lease, reason: str) -> None:
    """The prompt is gone (or never went): pending again, message visible now; a job whose cancel was
    asked meanwhile is cancelled instead (a pending job with cancel_requested is never picked up)."""
    if lease.cancel_requested:
        return await complete(ctx, lease, ctx.contract.status.cancelled)
    try:
        await ctx.store.update(hand_back(ctx.contract, lease.job_id, attempt=lease.attempt, now_ms=now_ms()))
        log("job_handed_back", job_id=lease.job_id, attempt=lease.attempt, reason=reason)
    except ConditionFailed:
        log("job_lost", job_id=lease.job_id, attempt=lease.attempt)
        return
    await ctx.queue.hide(lease.receipt, 0)


async def release_lease(ctx: RunnerContext, lease: Lease) -> None:
    """SIGTERM: lease_until = now and the message visible, so the next runner adopts the prompt at once."""
    try:
        await ctx.store.update(release(ctx.contract, lease.job_id, attempt=lease.attempt, now_ms=now_ms()))
    except ConditionFailed:
        return  # finished or taken over meanwhile
    await ctx.queue.hide(lease.receipt, 0)
    log("job_released", job_id=lease.job_id, attempt=lease.attempt)


async def _alive_on(pod: PodHandle, prompt_id: str) -> bool:
    """Adoption: the prompt is still queued, running, or finished in the pod's history."""
    try:
        history = await pod.client.history(prompt_id)
        return prompt_whereabouts(await pod.client.queue_all(), history, prompt_id) != "absent"
    except PodUnreachable:
        return False


async def _connected(pod: PodHandle) -> None:
    """A new pod's WebSocket is usually up in milliseconds; without it the prompt's end is seen only by the
    history poll (one heartbeat later), so it is worth a short wait, never a long one."""
    try:
        await asyncio.wait_for(pod.events.connected.wait(), timeout=5)
    except asyncio.TimeoutError:
        log("pod_websocket_not_ready", pod=pod.name)


async def _quietly(call) -> None:
    try:
        await call
    except PodUnreachable:
        pass
