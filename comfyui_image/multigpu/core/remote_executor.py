"""RemoteExecutor: the core's Executor over one stock ComfyUI worker process per GPU (process mode).

Late binding, depth 1: the GPU's worker thread forwards one prompt at a time to its worker
(`POST /prompt` with our prompt id and the front's upstream client id), relays that worker's
WebSocket messages to the submitting client (core/relay.py), and when the worker says the prompt
ended, harvests the worker's history entry and deletes it: history lives in the front only.
Queues, routing, stealing and X-TARGET-GPU stay in the pool. docs/process-mode-design.md 3.3-3.6.

Pure: the I/O is behind `WorkerLink` (http/worker_link.py over aiohttp); messages arrive through
`on_message` (the link's reader) and deaths through `worker_exited` (the supervisor).
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

try:
    from typing import Protocol
except ImportError:  # pragma: no cover
    Protocol = object  # type: ignore

from .executor import ExecutionResult
from .relay import BROADCAST, DEFER, END, HOLD, RELAY, binary_decision, relay_decision
from .remote_results import refused_result, result_from_history
from .save_locks import SaveLocks
from .stall_watch import INTERRUPT, KILL, UNKILLABLE, StallWatch
from .task import Task

log = logging.getLogger("multigpu.remote")

Send = Callable[[str, dict, Optional[str]], None]
SendBinary = Callable[[bytes, Optional[str]], None]
# (gpu, reason): kill the worker process (the supervisor's); its exit then fails the prompt.
Kill = Callable[[int, str], None]
# (gpu, description): report the worker gone as its exit is reported (front/app.py: the GPU out of
# service, then worker_exited), for a worker the kill did not end.
ReportExit = Callable[[int, str], None]
# While a prompt runs, its worker's history is read this often: the end is normally seen on the
# WebSocket, but a socket that dropped and reconnected may have missed it.
RESYNC_SECONDS = 5.0
# Seconds a failed POST /prompt waits for the worker's exit to be reported: a worker killed while
# taking the prompt drops the connection first, and its exit (the signal) names the cause better.
EXIT_REPORT_GRACE_S = 5.0


class WorkerLink(Protocol):
    """One worker's HTTP API, called from the GPU's worker thread unless said otherwise."""

    def post_prompt(self, body: dict) -> Tuple[int, Any]:
        """POST /prompt; (status, parsed body)."""

    def history(self, prompt_id: str) -> dict:
        """GET /history/{prompt_id}."""

    def delete_history(self, prompt_id: str) -> None:
        """POST /history {"delete": [prompt_id]}."""

    def delete_queued(self, prompt_id: str) -> None:
        """POST /queue {"delete": [prompt_id]}: drop it if it waits in the worker's queue."""

    def interrupt(self, prompt_id: str) -> None:
        """POST /interrupt {"prompt_id"}; must not block: called from any thread, under the
        pool's queue lock."""

    def free(self, unload_models: bool, free_memory: bool) -> None:
        """POST /free."""

    def wait_up(self, timeout: float) -> None:
        """Return once the worker answers and its WebSocket is open; raise after `timeout`."""

    def probe(self) -> None:
        """Raise unless the worker answers now and its WebSocket is open."""


def upstream_client_id(gpu_id: int) -> str:
    """The client id the front uses on worker `gpu_id`: every prompt's messages go to it."""
    return f"multigpu-front-{gpu_id}"


def forward_body(gpu_id: int, task: Task) -> dict:
    """The stock POST /prompt body for the worker: our prompt id, the front's upstream client id,
    the client's extra data with its sensitive part put back (stock splits it out again), and the
    outputs to run."""
    extra = {k: v for k, v in {**task.extra_data, **task.sensitive}.items() if k != "client_id"}
    body = {"prompt": task.prompt, "prompt_id": task.prompt_id,
            "client_id": upstream_client_id(gpu_id), "extra_data": extra}
    if task.outputs_to_execute:
        # The outputs the front's validation chose (fewer than all when the client sent
        # partial_execution_targets); without them the worker would run every output node.
        body["partial_execution_targets"] = list(task.outputs_to_execute)
    return body


class _Run:
    def __init__(self, task: Task, last_attempt: bool, watch: StallWatch):
        self.task = task
        self.watch = watch
        self.last_attempt = last_attempt
        self.ended = threading.Event()
        self.exit: Optional[str] = None
        self.interrupt_requested = False


class RemoteExecutor:
    def __init__(self, links: Sequence[WorkerLink], send: Send, *, warmup_timeout_s: float = 600.0,
                 resync_s: float = RESYNC_SECONDS, send_binary: Optional[SendBinary] = None,
                 stall_s: float = 0.0, stall_grace_s: float = 60.0, kill: Optional[Kill] = None,
                 report_exit: Optional[ReportExit] = None, clock: Callable[[], float] = time.monotonic):
        """`stall_s` > 0 watches running prompts for silence (core/stall_watch.py); `kill` ends a
        worker that stays silent after the interrupt; `report_exit` (default: worker_exited) gives
        up on one that outlives the kill."""
        self._links = list(links)
        self._stall = (stall_s, stall_grace_s)
        self._kill = kill or (lambda gpu, reason: None)
        self._report_exit = report_exit or self.worker_exited
        self._clock = clock
        self._send = send
        self._send_binary = send_binary or (lambda frame, client: None)
        self._warmup_timeout_s = warmup_timeout_s
        # How often a running prompt's wait wakes: to resync from history, and to watch for a
        # stall at a quarter of its threshold.
        self._tick_s = min(resync_s, stall_s / 4) if stall_s else resync_s
        self._lock = threading.Lock()
        self._runs: Dict[int, _Run] = {}
        # The prompt each GPU's latest interrupt was for, when no run of it was registered yet
        # (handed out by the queue but not yet in execute, or between OOM attempts).
        self._interrupted: Dict[int, str] = {}
        # Each GPU's running prompt's ending message (relay.py DEFER), sent by announce_done.
        self._endings: Dict[int, Tuple[str, dict, Optional[str]]] = {}
        self.dropped_messages = 0
        # The workers' output file-name locks (design 3.7): released here, where messages arrive,
        # when a prompt ends and when a worker dies; granted by front/save_lock_routes.py.
        self.save_locks = SaveLocks()

    # ---- Executor protocol -----------------------------------------------------------------
    def bind_thread(self, gpu_id: int) -> None:
        """Nothing to bind: the worker process owns the device."""

    def warmup(self, gpu_id: int) -> None:
        self._links[gpu_id].wait_up(self._warmup_timeout_s)

    def probe(self, gpu_id: int) -> None:
        self._links[gpu_id].probe()

    def execute(self, gpu_id: int, task: Task, *, last_attempt: bool) -> ExecutionResult:
        run = _Run(task, last_attempt, StallWatch(*self._stall, clock=self._clock))
        with self._lock:
            self._runs[gpu_id] = run  # before posting: the first messages may beat the answer
            # An interrupt that came for this prompt before it got here stops it once posted.
            run.interrupt_requested = self._interrupted.pop(gpu_id, None) == task.prompt_id
        link = self._links[gpu_id]
        try:
            try:
                status, body = link.post_prompt(forward_body(gpu_id, task))
            except Exception:
                if run.ended.wait(EXIT_REPORT_GRACE_S) and run.exit is not None:
                    return self._died(task, run.exit)
                self._withdraw(gpu_id, link, task.prompt_id)
                raise
            if status != 200:
                return refused_result(task, status, body)
            if run.interrupt_requested:
                link.interrupt(task.prompt_id)
            entry = self._wait_for_end(gpu_id, link, run)
            if run.exit is not None:
                return self._died(task, run.exit)
            if entry is None:
                entry = link.history(task.prompt_id).get(task.prompt_id)
            try:
                link.delete_history(task.prompt_id)
            except Exception as error:  # the result is in hand: a worker gone since keeps nothing
                log.warning("GPU %d: could not delete prompt %s from its ComfyUI's history: %s",
                            gpu_id, task.prompt_id, error)
            return result_from_history(gpu_id, task.prompt_id, entry)
        finally:
            self.save_locks.prompt_ended(gpu_id)
            with self._lock:
                if self._runs.get(gpu_id) is run:
                    del self._runs[gpu_id]

    @staticmethod
    def _withdraw(gpu_id: int, link: WorkerLink, prompt_id: str) -> None:
        """Best effort, after a POST /prompt that failed while the worker lives: the worker may
        have taken the prompt anyway (stock goes on with a request after the caller hung up, e.g.
        past our timeout), and would run it unwatched, ahead of our next prompt, its history entry
        never deleted. Drop it from the worker's queue, or stop it if it started there."""
        for call in (link.delete_queued, link.interrupt):
            try:
                call(prompt_id)
            except Exception as error:  # the failed POST is what the caller must hear
                log.warning("GPU %d: could not withdraw prompt %s after its POST /prompt failed: %s",
                            gpu_id, prompt_id, error)

    def _wait_for_end(self, gpu_id: int, link: WorkerLink, run: _Run) -> Optional[dict]:
        """Wait for the END message or an exit; the worker's history entry if it shows the
        prompt ended without the message reaching us (None otherwise)."""
        while not run.ended.wait(self._tick_s):
            self._watch_for_stall(gpu_id, link, run)
            try:
                entry = link.history(run.task.prompt_id).get(run.task.prompt_id)
            except Exception as error:  # a dying worker: its exit ends the run (worker_exited)
                log.debug("GPU %d: resync failed: %s", gpu_id, error)
                continue
            if entry is not None and not run.ended.is_set():
                log.warning("prompt %s ended on its worker without its final message; resynced from "
                            "the worker's history", run.task.prompt_id)
                return entry
        return None

    def _watch_for_stall(self, gpu_id: int, link: WorkerLink, run: _Run) -> None:
        action = run.watch.check()
        prompt_id = run.task.prompt_id
        if action == INTERRUPT:
            log.error("GPU %d: no message for %.0f s while running prompt %s; interrupting it",
                      gpu_id, run.watch.silent_s(), prompt_id)
            link.interrupt(prompt_id)
        elif action == KILL:
            self._kill(gpu_id, f"ComfyUI for GPU {gpu_id} sent nothing for {run.watch.silent_s():.0f} s "
                               f"while running prompt {prompt_id} and an interrupt did not stop it "
                               f"(COMFY_WORKER_STALL_S={self._stall[0]:g}); killed")
        elif action == UNKILLABLE:
            # Stuck in the GPU driver (D state): the exit that would fail the prompt and take the
            # GPU out of service may never come, so it is reported now; the supervisor still
            # restarts the worker if it ever exits.
            self._report_exit(gpu_id, f"ComfyUI for GPU {gpu_id} did not die {self._stall[1]:g} s after "
                                      f"SIGKILL while running prompt {prompt_id} (stuck in the GPU "
                                      f"driver?); GPU {gpu_id} taken out of service")

    def interrupt(self, gpu_id: int, prompt_id: str) -> None:
        with self._lock:
            run = self._runs.get(gpu_id)
            if run is None or run.task.prompt_id != prompt_id:
                self._interrupted[gpu_id] = prompt_id  # execute() takes it up when the prompt starts
                return
            run.interrupt_requested = True
        self._links[gpu_id].interrupt(run.task.prompt_id)

    def recover_from_oom(self, gpu_id: int) -> None:
        self._links[gpu_id].free(True, True)

    def free(self, gpu_id: int, *, unload_models: bool, free_memory: bool) -> None:
        self._links[gpu_id].free(unload_models, free_memory)

    def announce_done(self, gpu_id: int, task: Task, result: ExecutionResult) -> None:
        with self._lock:
            ending = self._endings.pop(gpu_id, None)
        if ending is not None and ending[1].get("prompt_id") == task.prompt_id:
            self._send(*ending)
        elif not result.success and not result.interrupted:
            # No ending from the worker (it refused the prompt or died, a call to it failed, or the
            # message was lost): the client still hears the error, as stock would send it.
            errors = [data for event, data in result.messages if event == "execution_error"]
            if errors:
                self._send("execution_error", dict(errors[-1], prompt_id=task.prompt_id), task.client_id)
        self._send("executing", {"node": None, "prompt_id": task.prompt_id}, task.client_id)

    # ---- events from the link and the supervisor ---------------------------------------------
    def on_message(self, gpu_id: int, event: str, data: dict) -> None:
        """One message from worker `gpu_id`'s WebSocket, in arrival order."""
        self.save_locks.heard(gpu_id, event, data)
        with self._lock:
            run = self._runs.get(gpu_id)
        running = run.task.prompt_id if run is not None else None
        if run is not None:
            run.watch.heard()
        decision = relay_decision(event, data, running, run.last_attempt if run else True)
        if decision == RELAY:
            self._send(event, data, run.task.client_id)
            if event == "execution_start" and run.interrupt_requested:
                # The interrupt may have reached the worker before the prompt started (ignored
                # there, as stock ignores a targeted interrupt of a prompt it is not running).
                self._links[gpu_id].interrupt(running)
        elif decision == DEFER:
            with self._lock:
                self._endings[gpu_id] = (event, data, run.task.client_id)
        elif decision == END:
            run.ended.set()
        elif decision == BROADCAST:
            self._send(event, data, None)
        elif decision != HOLD:
            self.dropped_messages += 1

    def on_binary(self, gpu_id: int, frame: bytes) -> None:
        """One binary frame (a preview, core/previews.py) from worker `gpu_id`'s WebSocket."""
        with self._lock:
            run = self._runs.get(gpu_id)
        if run is not None:
            run.watch.heard()
        if binary_decision(frame, run.task.prompt_id if run else None) == RELAY:
            self._send_binary(frame, run.task.client_id)
        else:
            self.dropped_messages += 1

    def worker_exited(self, gpu_id: int, description: str) -> None:
        """The worker process is gone: its running prompt fails with `description`."""
        self.save_locks.worker_exited(gpu_id)
        with self._lock:
            run = self._runs.get(gpu_id)
        if run is not None:
            run.exit = description
            run.ended.set()

    def _died(self, task: Task, description: str) -> ExecutionResult:
        with self._lock:
            # What the worker said before dying is superseded by the exit (a success it reported
            # has no history entry to harvest now).
            for gpu, ending in list(self._endings.items()):
                if ending[1].get("prompt_id") == task.prompt_id:
                    del self._endings[gpu]
        error = {"prompt_id": task.prompt_id, "node_id": None, "node_type": None, "executed": [],
                 "exception_message": description, "exception_type": "WorkerExited",
                 "traceback": [], "current_inputs": {}, "current_outputs": {}}
        return ExecutionResult(success=False, messages=[("execution_error", error)],
                               error=description, gpu_fault=True)
