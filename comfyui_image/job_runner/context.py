"""What one job's coroutines share: the adapters, the settings, and the pods the runner knows."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional

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
    #: Called as (event, fields) for each finished job; the benchmark and tests count with it.
    on_finish: Optional[Callable[[str, dict], None]] = None

    def pod(self, name: Optional[str]) -> Optional[PodHandle]:
        return self.pods.get(name) if name else None

    def key(self, job_id: str) -> dict:
        return {self.contract.partition_key: self.contract.job_key(job_id)}
