"""The demand KEDA scales the ComfyUI pods on (docs/scaling-design.md, section 3), served as GET /scaling.

    demand = prompts + backlog + (1 if recent_sessions > 0 and prompts + backlog == 0 else 0)

- prompts: running + pending prompts on the ready pods (GET /queue/all; jobs and interactive prompts alike),
- backlog: the jobs queue's visible messages (SQS ApproximateNumberOfMessages),
- recent_sessions: browser sessions active within the window, summed over the pods' `comfyui_ws_sessions_recent`
  (multigpu/core/sessions.py): an open tab whose user prompted or connected lately keeps one pod, not more.

KEDA's metrics-api trigger divides demand by its target (GPUs per pod x queuedPromptsPerGpu). The numbers are
cached as the runner's loop and the scaling monitor see them; an answer built on numbers older than the stale limit
is an error (HTTP 503): KEDA then counts a trigger error, which blocks the scale to zero but never a wake from zero
(keda v2.20.2 pkg/scaling/executor/scale_scaledobjects.go RequestScale: the 0 -> 1 case is tested before isError;
pkg/scalers/metrics_api_scaler.go: any status but 200 is an error).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, Optional, Tuple

#: The pods' gauge (multigpu/core/sessions.py RECENT_SESSIONS; lib/names.ts COMFYUI_PROMETHEUS_METRICS).
SESSIONS_SERIES = "comfyui_ws_sessions_recent"
SESSION_WINDOW_SERIES = "comfyui_ws_session_window_seconds"


@dataclass(frozen=True)
class PodLoad:
    """One pod's queues: prompts running or pending, the pending ones, and GPUs with any prompt."""
    prompts: int = 0
    pending: int = 0
    busy_gpus: int = 0


def pod_load(queue_all: dict) -> PodLoad:
    prompts = pending = busy = 0
    for queue in queue_all.get("queues") or []:
        running, waiting = int(queue.get("running_count") or 0), int(queue.get("pending_count") or 0)
        prompts += running + waiting
        pending += waiting
        busy += 1 if running + waiting else 0
    return PodLoad(prompts, pending, busy)


def demand(prompts: int, backlog: int, recent_sessions: int) -> int:
    work = prompts + backlog
    return work + (1 if recent_sessions > 0 and work == 0 else 0)


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+(\S+)")


def gauge_values(exposition: str, names: Iterable[str]) -> Dict[str, float]:
    """Unlabelled samples of `names` in Prometheus text (prometheus_client's parser is not in the runner's image;
    these series carry no labels)."""
    wanted, found = set(names), {}
    for line in exposition.splitlines():
        match = _SAMPLE.match(line)
        if match and match.group(1) in wanted and "{" not in line.split(" ", 1)[0]:
            try:
                found[match.group(1)] = float(match.group(2))
            except ValueError:
                continue
    return found


@dataclass
class _Seen:
    value: object
    at: float


class ScalingView:
    """What GET /scaling answers, from the latest numbers and their ages; `clock` is monotonic seconds."""

    def __init__(self, *, clock: Callable[[], float], stale_seconds: float) -> None:
        self._clock, self._stale = clock, stale_seconds
        self._listed_at: Optional[float] = None
        self._first_listed: Dict[str, float] = {}
        self._loads: Dict[str, _Seen] = {}
        self._sessions: Dict[str, _Seen] = {}
        self._backlog: Optional[_Seen] = None

    @property
    def ready_pods(self) -> Tuple[str, ...]:
        return tuple(sorted(self._first_listed))

    def pods_seen(self, ready: Iterable[str], loads: Dict[str, PodLoad]) -> None:
        """One look of the runner's loop: the ready pods, and the loads of those that answered /queue/all."""
        now = self._clock()
        ready = set(ready)
        self._listed_at = now
        for table in (self._first_listed, self._loads, self._sessions):
            for name in [n for n in table if n not in ready]:
                del table[name]
        for name in ready:
            self._first_listed.setdefault(name, now)
        for name, load in loads.items():
            if name in ready:
                self._loads[name] = _Seen(load, now)

    def sessions_seen(self, pod: str, recent_sessions: int) -> None:
        if pod in self._first_listed:
            self._sessions[pod] = _Seen(recent_sessions, self._clock())

    def backlog_seen(self, visible_messages: int) -> None:
        self._backlog = _Seen(visible_messages, self._clock())

    def loads(self) -> Dict[str, PodLoad]:
        return {name: seen.value for name, seen in self._loads.items()}

    def answer(self) -> Tuple[int, dict]:
        """(200, numbers), or (503, numbers so far and the error) when any of them is stale."""
        now = self._clock()
        loads = [seen.value for seen in self._loads.values()]
        prompts = sum(load.prompts for load in loads)
        backlog = int(self._backlog.value) if self._backlog is not None else 0
        sessions = sum(int(seen.value) for seen in self._sessions.values())
        body = {"demand": demand(prompts, backlog, sessions), "prompts": prompts, "backlog": backlog,
                "recent_sessions": sessions, "pods": len(self._first_listed),
                "busy_gpus": sum(load.busy_gpus for load in loads)}
        problem = self._problem(now)
        if problem:
            return 503, dict(body, error=problem)
        return 200, body

    def _problem(self, now: float) -> Optional[str]:
        limit = self._stale
        if self._listed_at is None:
            return "the ComfyUI pods have not been listed yet"
        if now - self._listed_at > limit:
            return f"the ComfyUI pods were last listed {now - self._listed_at:.0f} s ago (limit {limit:g} s)"
        if self._backlog is None or now - self._backlog.at > limit:
            return f"the jobs queue's backlog is unknown or older than {limit:g} s"
        for name, first in sorted(self._first_listed.items()):
            for what, table in (("/queue/all", self._loads), ("/metrics", self._sessions)):
                seen = table.get(name)
                age = now - (seen.at if seen is not None else first)
                if age > limit:
                    return f"pod {name} has not answered {what} for {age:.0f} s (limit {limit:g} s)"
        return None
