"""A controllable executor for core tests: prompts run until released or interrupted."""
from __future__ import annotations

import threading
import time
from typing import Dict, List, Optional, Set

from multigpu.core.executor import ExecutionResult
from multigpu.core.task import Task


class FakeExecutor:
    def __init__(self, num_gpus: int, *, run_seconds: float = 0.0, fail_warmup: Set[int] = frozenset(),
                 oom_attempts: Optional[Dict[str, int]] = None):
        self.run_seconds = run_seconds
        self.fail_warmup = set(fail_warmup)
        self.oom_attempts = dict(oom_attempts or {})
        self.lock = threading.Lock()
        self.bound: Dict[int, str] = {}
        self.started: Dict[str, int] = {}
        self.executions: List[tuple] = []  # (gpu, prompt_id, last_attempt)
        self.recovered: List[int] = []
        self.freed: List[tuple] = []
        self.announced: List[str] = []
        self.hold: Dict[str, threading.Event] = {}
        self.running_now = threading.Event()
        self._stop = [threading.Event() for _ in range(num_gpus)]

    def bind_thread(self, gpu_id: int) -> None:
        self.bound[gpu_id] = threading.current_thread().name

    def warmup(self, gpu_id: int) -> None:
        if gpu_id in self.fail_warmup:
            raise RuntimeError(f"no device {gpu_id}")

    def execute(self, gpu_id: int, task: Task, *, last_attempt: bool) -> ExecutionResult:
        stop = self._stop[gpu_id]
        stop.clear()
        with self.lock:
            self.executions.append((gpu_id, task.prompt_id, last_attempt))
            self.started[task.prompt_id] = gpu_id
            left = self.oom_attempts.get(task.prompt_id, 0)
            if left:
                self.oom_attempts[task.prompt_id] = left - 1
        if left:
            return ExecutionResult(success=False, out_of_memory=True, error="CUDA out of memory")
        self.running_now.set()
        gate = self.hold.get(task.prompt_id)
        if gate is not None:
            while not gate.is_set():
                if stop.wait(0.01):
                    return ExecutionResult(success=False, interrupted=True)
        elif self.run_seconds and stop.wait(self.run_seconds):
            return ExecutionResult(success=False, interrupted=True)
        return ExecutionResult(success=True, outputs={"9": {"images": [task.prompt_id]}})

    def recover_from_oom(self, gpu_id: int) -> None:
        self.recovered.append(gpu_id)

    def announce_done(self, gpu_id: int, task: Task, result: ExecutionResult) -> None:
        self.announced.append(task.prompt_id)

    def interrupt(self, gpu_id: int, prompt_id: str) -> None:
        self._stop[gpu_id].set()

    def probe(self, gpu_id: int) -> None:
        pass

    def free(self, gpu_id: int, *, unload_models: bool, free_memory: bool) -> None:
        self.freed.append((gpu_id, unload_models, free_memory))


def make_task(prompt_id: str, number: float = 0, models=frozenset(), client_id: str = "c") -> Task:
    return Task(number=number, prompt_id=prompt_id,
                prompt={"1": {"class_type": "KSampler", "inputs": {}}},
                extra_data={"client_id": client_id}, outputs_to_execute=["1"], models=frozenset(models))


def wait_for(predicate, timeout=5.0, interval=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    raise AssertionError("condition not met within %.1fs" % timeout)
