"""Which GPUs of a pod can take a job now, from its GET /queue/all (multigpu/http/routes.py): a GPU in
service whose queue has nothing running or pending, and that this runner has not just given a job."""
from __future__ import annotations

from typing import AbstractSet, List


def idle_gpus(queue_all: dict, held: AbstractSet[int] = frozenset()) -> List[int]:
    idle = []
    for queue in queue_all.get("queues") or []:
        gpu = queue.get("gpu_id")
        if not isinstance(gpu, int) or gpu in held:
            continue
        if queue.get("state", "in_service") != "in_service":
            continue  # a GPU out of service (breaker open) would fail the job
        if queue.get("running_count", 1) == 0 and queue.get("pending_count", 1) == 0:
            idle.append(gpu)
    return idle


def prompt_whereabouts(queue_all: dict, history: dict, prompt_id: str) -> str:
    """'running', 'queued', 'finished' or 'absent': where a prompt is on a pod, for adoption and cancel.
    Queue items are ComfyUI's [number, prompt_id, prompt, extra_data, outputs]."""
    if prompt_id in (history or {}):
        return "finished"
    for queue in queue_all.get("queues") or []:
        if any(_item_id(item) == prompt_id for item in queue.get("queue_running") or []):
            return "running"
        if any(_item_id(item) == prompt_id for item in queue.get("queue_pending") or []):
            return "queued"
    return "absent"


def _item_id(item) -> object:
    return item[1] if isinstance(item, (list, tuple)) and len(item) > 1 else None
