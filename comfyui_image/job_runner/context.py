"""What one job's coroutines share: the adapters, the settings, and the pods the runner knows."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Dict, Optional

from .aws import JobQueue, JobStore, OutputStore
from .comfy_client import ComfyClient
from .contract import JobsContract
from .pod_events import PodEvents
from .settings import RunnerSettings


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class PodHandle:
    name: str
    client: ComfyClient
    events: PodEvents


@dataclass
class Lease:
    """A job this runner holds: its attempt is the condition of every later transition."""
    job_id: str
    receipt: str
    attempt: int
    owner: str
    worker: dict
    cancel_requested: bool = False
    #: The last progress seen; the completion writes it, so a job shorter than one write interval has one.
    progress: Optional[dict] = None
    #: time.monotonic() when the message was received, and at each step since (held, submitted,
    #: prompt_ended), for the job_finished log line.
    received: float = field(default_factory=time.monotonic)
    marks: Dict[str, float] = field(default_factory=dict)

    def mark(self, step: str) -> None:
        self.marks[step] = time.monotonic()

    def step_ms(self) -> Dict[str, int]:
        """Milliseconds spent in each step since the message was received."""
        steps, previous = {}, self.received
        for step, at in self.marks.items():
            steps[step] = int((at - previous) * 1000)
            previous = at
        steps["completing"] = int((time.monotonic() - previous) * 1000)
        return steps


@dataclass
class RunnerContext:
    contract: JobsContract
    settings: RunnerSettings
    store: JobStore
    queue: JobQueue
    outputs: OutputStore
    client_id: str
    pods: Dict[str, PodHandle] = field(default_factory=dict)
    #: Jobs held now, by id: SIGTERM releases each.
    leases: Dict[str, Lease] = field(default_factory=dict)
    #: Set on SIGTERM: jobs stop at their next step and release their leases.
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def pod(self, name: Optional[str]) -> Optional[PodHandle]:
        return self.pods.get(name) if name else None
