"""Drive a GpuPool's real queues, routing, metrics and breakers without threads, on a fake clock.

Each GPU's worker is stepped by hand (GpuWorker.next_task / begin / attempt / complete), and a
prompt "runs" from its start until start + the duration the executor chose for it, so GPUs overlap
as they would on a node while every decision happens in one deterministic order: events by time,
then GPUs by index. Idle workers are polled every `poll_seconds`, as the worker loop does.
"""
import heapq
import itertools
from typing import Callable, Dict, List, Optional, Tuple

from multigpu.core.executor import ExecutionResult
from multigpu.core.pool import GpuPool
from multigpu.core.task import Task


class FakeClock:
    def __init__(self, now: float = 0.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


class ScriptedExecutor:
    """execute() returns at once; `behaviour(gpu, task)` gives (result, seconds it "takes")."""

    def __init__(self, behaviour: Callable[[int, Task], Tuple[ExecutionResult, float]],
                 probe: Callable[[int], None] = lambda gpu: None):
        self._behaviour = behaviour
        self._probe = probe
        self.durations: Dict[str, float] = {}
        self.ran_on: Dict[str, int] = {}
        self.probes: List[Tuple[int, bool]] = []

    def bind_thread(self, gpu_id): pass
    def warmup(self, gpu_id): pass
    def recover_from_oom(self, gpu_id): pass
    def announce_done(self, gpu_id, task, result): pass
    def interrupt(self, gpu_id, prompt_id): pass
    def free(self, gpu_id, *, unload_models, free_memory): pass

    def execute(self, gpu_id, task, *, last_attempt):
        result, seconds = self._behaviour(gpu_id, task)
        self.durations[task.prompt_id] = seconds
        self.ran_on[task.prompt_id] = gpu_id
        return result

    def probe(self, gpu_id):
        try:
            self._probe(gpu_id)
        except Exception:
            self.probes.append((gpu_id, False))
            raise
        self.probes.append((gpu_id, True))


def drive(pool: GpuPool, executor: ScriptedExecutor, clock: FakeClock,
          arrivals: List[Tuple[float, Task, Optional[int]]], *, until: float,
          poll_seconds: float = 1.0,
          at: Optional[Dict[float, Callable[[], None]]] = None) -> None:
    """Submit each (time, task, target_gpu) at its time and run the node until `until` seconds.
    `at` maps times to callbacks run then (e.g. to change a GPU's behaviour)."""
    seq = itertools.count()
    events = [(t, next(seq), "arrive", (task, target)) for t, task, target in arrivals]
    events += [(t, next(seq), "call", fn) for t, fn in (at or {}).items()]
    tick = 0.0
    while tick <= until:
        events.append((tick, next(seq), "poll", None))
        tick += poll_seconds
    heapq.heapify(events)
    busy: Dict[int, bool] = {}
    workers = pool.workers
    while events:
        time, _, kind, payload = heapq.heappop(events)
        if time > until:
            break
        clock.now = time
        if kind == "arrive":
            task, target = payload
            task.enqueued_at = time
            pool.submit(task, target)
        elif kind == "call":
            payload()
        elif kind == "done":
            gpu, task, started, result, ooms = payload
            workers[gpu].complete(task, started, result, ooms)
            busy[gpu] = False
        for worker in workers:  # every idle GPU looks for work, in index order
            if busy.get(worker.gpu_id):
                continue
            task = worker.next_task(0)
            if task is None:
                continue
            started = worker.begin(task)
            result, ooms = worker.attempt(task)
            busy[worker.gpu_id] = True
            end = time + executor.durations[task.prompt_id]
            heapq.heappush(events, (end, next(seq), "done",
                                    (worker.gpu_id, task, started, result, ooms)))
