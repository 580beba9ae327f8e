"""Which GPU gets an unpinned prompt: least expected wait, with model affinity.

Expected wait of a GPU = prompts ahead of the new one (queued + running) x that GPU's recent
execution time. A GPU whose queue will end with the same models loaded is preferred when waiting
for it costs less than about one execution more than the best GPU, because a checkpoint switch
costs a model load (seconds) on the cold GPU.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import FrozenSet, Sequence


@dataclass(frozen=True)
class GpuLoad:
    gpu_id: int
    ahead: int  # prompts queued or running on this GPU
    exec_seconds: float  # recent mean execution time on this GPU
    tail_models: FrozenSet[str]  # models loaded once the GPU reaches the end of its queue

    @property
    def expected_wait(self) -> float:
        return self.ahead * self.exec_seconds


def _least_wait_key(load: GpuLoad):
    return (load.expected_wait, load.ahead, load.gpu_id)


def choose_gpu(loads: Sequence[GpuLoad], models: FrozenSet[str], affinity_slack: float = 1.0) -> int:
    """The GPU for a prompt that needs `models`. `affinity_slack` is in executions of the warm GPU."""
    if not loads:
        raise ValueError("choose_gpu needs at least one GPU")
    best = min(loads, key=_least_wait_key)
    if models and not models <= best.tail_models:
        warm = [load for load in loads if models <= load.tail_models]
        if warm:
            candidate = min(warm, key=_least_wait_key)
            if candidate.expected_wait - best.expected_wait <= affinity_slack * candidate.exec_seconds:
                return candidate.gpu_id
    return best.gpu_id


def round_robin(counter: int, num_gpus: int) -> int:
    """The baseline the benchmark compares against."""
    return counter % num_gpus
