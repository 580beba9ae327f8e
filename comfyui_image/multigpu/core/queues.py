"""One pending queue per GPU plus what each GPU is running, under one lock.

One lock for all queues keeps placement, stealing and deletion exactly-once under concurrent
submitters and workers; every operation is O(queued prompts), far below a prompt's run time.
"""
from __future__ import annotations

import threading
from collections import deque
from typing import Callable, Deque, Dict, FrozenSet, Iterable, List, Optional, Set, Tuple, TypeVar

from .routing import GpuLoad
from .task import Task

Chooser = Callable[[List[GpuLoad], FrozenSet[str]], int]
R = TypeVar("R")


class GpuQueues:
    def __init__(self, num_gpus: int, exec_estimate: Callable[[int], float]):
        if num_gpus < 1:
            raise ValueError(f"num_gpus must be >= 1, got {num_gpus}")
        self.num_gpus = num_gpus
        self._exec_estimate = exec_estimate
        self._cond = threading.Condition(threading.Lock())
        self._pending: List[Deque[Task]] = [deque() for _ in range(num_gpus)]
        self._running: Dict[int, Task] = {}
        self._last_models: List[FrozenSet[str]] = [frozenset() for _ in range(num_gpus)]
        # GPUs whose breaker is open (core/breaker.py): not routed to, take nothing.
        self._out_of_service: Set[int] = set()
        self._closed = False

    # ---- placement -------------------------------------------------------------------------
    def _loads(self, task: Task) -> List[GpuLoad]:
        """Loads of the GPUs in service as `task` would see them (the prompts it would queue
        behind); of every GPU when none is in service (the prompts then wait for a probe to bring
        one back, or for the pod's restart)."""
        serving = [g for g in range(self.num_gpus) if g not in self._out_of_service]
        loads = []
        for gpu in serving or range(self.num_gpus):
            pending = self._pending[gpu]
            position = _position_for(pending, task.number)
            running = self._running.get(gpu)
            if position:
                tail = pending[position - 1].models
            elif running is not None:
                tail = running.models
            else:
                tail = self._last_models[gpu]
            ahead = position + (1 if running is not None else 0)
            loads.append(GpuLoad(gpu, ahead, self._exec_estimate(gpu), tail))
        return loads

    def submit(self, task: Task, target_gpu: Optional[int], choose: Chooser) -> int:
        """Queue `task` on `target_gpu` (pinned) or on the GPU `choose` picks; returns the GPU.
        Each queue runs in the order of `number`, as stock ComfyUI's heap does (POST /prompt's
        "front": true gives a negative number; ties keep arrival order)."""
        with self._cond:
            if target_gpu is None:
                gpu = choose(self._loads(task), task.models)
            else:
                gpu = target_gpu
                task.pinned_gpu = target_gpu
            if not 0 <= gpu < self.num_gpus:
                raise ValueError(f"GPU {gpu} is outside 0..{self.num_gpus - 1}")
            queue = self._pending[gpu]
            queue.insert(_position_for(queue, task.number), task)
            self._cond.notify_all()
            return gpu

    # ---- workers ---------------------------------------------------------------------------
    def take(self, gpu: int, timeout: float) -> Optional[Task]:
        """The next task for `gpu`: its own oldest, else the oldest unpinned one of the longest
        other queue (work stealing). None after `timeout` seconds or once closed."""
        with self._cond:
            task = self._take_locked(gpu)
            if task is None and not self._closed:
                self._cond.wait(timeout)
                task = self._take_locked(gpu)
            if task is not None:
                self._running[gpu] = task
            return task

    def _take_locked(self, gpu: int) -> Optional[Task]:
        if self._closed or gpu in self._out_of_service:
            return None
        own = self._pending[gpu]
        if own:
            return own.popleft()
        victims = sorted(
            (g for g in range(self.num_gpus) if g != gpu),
            key=lambda g: (-len(self._pending[g]), g),
        )
        for victim in victims:
            queue = self._pending[victim]
            for task in queue:  # oldest first
                if task.pinned_gpu is None:
                    queue.remove(task)
                    return task
        return None

    def finish(self, gpu: int) -> bool:
        """Mark the GPU's running task done; False if it had none."""
        with self._cond:
            task = self._running.pop(gpu, None)
            if task is not None:
                self._last_models[gpu] = task.models
            self._cond.notify_all()
            return task is not None

    def set_in_service(self, gpu: int, in_service: bool) -> None:
        with self._cond:
            if in_service:
                self._out_of_service.discard(gpu)
            else:
                self._out_of_service.add(gpu)
            self._cond.notify_all()  # idle workers may now steal the GPU's unpinned prompts

    def in_service(self, gpu: int) -> bool:
        with self._cond:
            return gpu not in self._out_of_service

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    # ---- inspection and edits --------------------------------------------------------------
    def _gpus(self, gpu: Optional[int]) -> Iterable[int]:
        return range(self.num_gpus) if gpu is None else (gpu,)

    def snapshot(self, gpu: Optional[int] = None) -> Tuple[List[Task], List[Task]]:
        """(running, pending) for one GPU or all, pending in queue order per GPU."""
        with self._cond:
            running = [self._running[g] for g in self._gpus(gpu) if g in self._running]
            pending = [t for g in self._gpus(gpu) for t in self._pending[g]]
            return running, pending

    def counts(self, gpu: int) -> Tuple[int, int]:
        with self._cond:
            return (1 if gpu in self._running else 0), len(self._pending[gpu])

    def remaining(self) -> int:
        with self._cond:
            return len(self._running) + sum(len(q) for q in self._pending)

    def running_ids(self) -> Dict[int, str]:
        with self._cond:
            return {g: t.prompt_id for g, t in self._running.items()}

    def delete(self, prompt_ids: Iterable[str], gpu: Optional[int] = None) -> List[str]:
        wanted = set(prompt_ids)
        deleted = []
        with self._cond:
            for g in self._gpus(gpu):
                keep = deque()
                for task in self._pending[g]:
                    if task.prompt_id in wanted:
                        deleted.append(task.prompt_id)
                    else:
                        keep.append(task)
                self._pending[g] = keep
        return deleted

    def clear(self, gpu: Optional[int] = None) -> int:
        with self._cond:
            count = 0
            for g in self._gpus(gpu):
                count += len(self._pending[g])
                self._pending[g].clear()
            return count

    def locate(self, prompt_id: str) -> Optional[Tuple[int, str]]:
        """(gpu, "running"|"pending") for a prompt still in the queues."""
        with self._cond:
            for g, task in self._running.items():
                if task.prompt_id == prompt_id:
                    return g, "running"
            for g in range(self.num_gpus):
                if any(t.prompt_id == prompt_id for t in self._pending[g]):
                    return g, "pending"
            return None

    def with_running(self, action: Callable[[Dict[int, Task]], R]) -> R:
        """Call `action` with {gpu: running task} while holding the lock, so what runs cannot
        change before `action` returns. `action` must be quick and must not call back."""
        with self._cond:
            return action(dict(self._running))


def _position_for(queue: Deque[Task], number: float) -> int:
    """Where a prompt numbered `number` goes: after every queued prompt with a number <= it
    (usually the end, so the scan from the right stops at once)."""
    position = len(queue)
    while position and queue[position - 1].number > number:
        position -= 1
    return position
