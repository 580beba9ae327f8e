"""Which pod a scale-in removes: busy pods last (docs/scaling-design.md, section 5).

The ReplicaSet deletes ready pods with the lower `controller.kubernetes.io/pod-deletion-cost` first (kubernetes
pkg/controller/controller_utils.go ActivePodsWithRanks). The runner sets cost = busy GPUs x 1000 + queued prompts
on a pod when it turns busy, and 0 once it has been idle for `idle_after_seconds`, and on no other change: the
Kubernetes docs ask not to update it often ("Pod deletion cost": "avoid frequent updates such as from a metric"),
and what matters is busy against idle. The pod's current annotation is the state, so a restarted runner, or two
runners during a rollout, decide the same.
https://kubernetes.io/docs/concepts/workloads/controllers/replicaset/#pod-deletion-cost
"""
from __future__ import annotations

from typing import Callable, Dict, Iterable, Optional

from .scaling import PodLoad

ANNOTATION = "controller.kubernetes.io/pod-deletion-cost"
#: A busy pod's cost per busy GPU; queued prompts add one each, so more work costs more.
COST_PER_BUSY_GPU = 1000
#: After a refused patch (no RBAC yet, the admission policy), how long before asking again.
RETRY_AFTER_SECONDS = 60.0


def busy_cost(load: PodLoad) -> int:
    return load.busy_gpus * COST_PER_BUSY_GPU + load.pending


def parse_cost(annotations: Optional[dict]) -> Optional[int]:
    raw = (annotations or {}).get(ANNOTATION)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None  # the ReplicaSet controller reads an unparsable value as 0 too


class DeletionCosts:
    def __init__(self, *, clock: Callable[[], float], idle_after_seconds: float) -> None:
        self._clock, self._idle_after = clock, idle_after_seconds
        self._idle_since: Dict[str, float] = {}
        self._retry_at: Dict[str, float] = {}

    def decide(self, pod: str, annotated: Optional[int], load: PodLoad) -> Optional[int]:
        """The cost to set on `pod` now, or None to leave its annotation as it is."""
        now = self._clock()
        marked_busy = annotated is not None and annotated > 0
        if load.prompts > 0:
            self._idle_since.pop(pod, None)
            wanted = None if marked_busy else busy_cost(load)
        elif not marked_busy:
            self._idle_since.pop(pod, None)
            wanted = None
        else:
            since = self._idle_since.setdefault(pod, now)
            wanted = 0 if now - since >= self._idle_after else None
        if wanted is not None and now < self._retry_at.get(pod, now):
            return None
        return wanted

    def refused(self, pod: str) -> None:
        self._retry_at[pod] = self._clock() + RETRY_AFTER_SECONDS

    def forget_all_but(self, pods: Iterable[str]) -> None:
        keep = set(pods)
        for table in (self._idle_since, self._retry_at):
            for name in [n for n in table if n not in keep]:
                del table[name]
