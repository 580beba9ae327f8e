"""Start one worker process per GPU, report each exit, restart it with backoff (process mode).

Each worker dies with the front (PR_SET_PDEATHSIG, Linux) and its output is logged line by line
with a `[gpu i]` prefix. The restart policy and exit names are pure (core/restart_policy.py).
"""
from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import re
import signal
import subprocess
import sys
import time
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Set

from ..core.restart_policy import RestartPolicy, describe_exit, exit_reason

log = logging.getLogger("multigpu.supervisor")

# (gpu) -> argv, and (gpu) -> environment of that worker
Command = Callable[[int], Sequence[str]]
Environment = Callable[[int], Mapping[str, str]]
# (gpu, description for people, short reason for a metric label)
OnExit = Callable[[int, str, str], None]
STOP_GRACE_S = 10.0
# How often the supervisor looks whether a worker has exited (see exit_code), and how long it lets
# the worker's last lines reach the log before reporting the exit.
EXIT_POLL_S = 0.1
OUTPUT_DRAIN_S = 1.0
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class WorkerSupervisor:
    def __init__(self, num_gpus: int, command: Command, *, on_exit: OnExit,
                 environment: Optional[Environment] = None,
                 policy: Callable[[], RestartPolicy] = lambda: RestartPolicy(clock=time.monotonic)):
        self._num_gpus = num_gpus
        self._command = command
        self._on_exit = on_exit
        self._environment = environment or (lambda gpu: os.environ)
        self._policies = [policy() for _ in range(num_gpus)]
        self._processes: Dict[int, asyncio.subprocess.Process] = {}
        self._tasks: List[asyncio.Task] = []
        self._output_readers: Set[asyncio.Task] = set()
        self._stopping = False
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        # Why the front killed a worker, to name in its exit (a stalled prompt, design 3.6).
        self._kill_reasons: Dict[int, str] = {}

    def pid(self, gpu: int) -> Optional[int]:
        process = self._processes.get(gpu)
        return process.pid if process is not None and process.returncode is None else None

    def answered(self, gpu: int) -> None:
        """Worker `gpu` came up and serves: its next crash restarts after the first delay again."""
        self._policies[gpu].answered()

    def kill(self, gpu: int, reason: str) -> None:
        """SIGKILL worker `gpu`, from any thread; its exit is reported with `reason`."""
        def kill_now() -> None:
            process = self._processes.get(gpu)
            if process is not None and process.returncode is None:
                self._kill_reasons[gpu] = reason
                process.kill()
        self._loop.call_soon_threadsafe(kill_now)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        for gpu in range(self._num_gpus):
            self._tasks.append(asyncio.ensure_future(self._keep_running(gpu)))

    async def stop(self) -> None:
        self._stopping = True
        running = [p for p in self._processes.values() if p.returncode is None]
        for process in running:
            process.terminate()
        try:
            await asyncio.wait_for(asyncio.gather(*(exit_code(p) for p in running)), STOP_GRACE_S)
        except asyncio.TimeoutError:
            for process in running:
                if process.returncode is None:
                    process.kill()
        for process in running:
            end_process_group(process.pid)
        for task in self._tasks + list(self._output_readers):
            task.cancel()
        await asyncio.gather(*self._tasks, *self._output_readers, return_exceptions=True)

    async def _keep_running(self, gpu: int) -> None:
        policy = self._policies[gpu]
        while not self._stopping:
            policy.started()
            command = list(self._command(gpu))
            try:
                process = await asyncio.create_subprocess_exec(
                    *command, env=dict(self._environment(gpu)), stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.STDOUT, preexec_fn=_die_with_parent,
                    start_new_session=True)  # its own process group: see end_process_group
            except (OSError, subprocess.SubprocessError) as error:
                # Reported and retried like an exit: raised out of this task, it would end the
                # GPU's restarts without a word (fork refused at the pids or memory limit, say).
                description = f"ComfyUI for GPU {gpu} could not be started ({' '.join(command)}): {error}"
                label = "not_started"
            else:
                description, label = await self._run_until_exit(gpu, process)
            if self._stopping:
                return
            log.error("%s", description)
            self._on_exit(gpu, description, label)
            delay = policy.next_delay()
            if delay is None:
                log.error("GPU %d: its ComfyUI failed to stay up; not restarting it", gpu)
                return
            await asyncio.sleep(delay)

    async def _run_until_exit(self, gpu: int, process: asyncio.subprocess.Process) -> "tuple[str, str]":
        """(description, metric label) of the exit of the started `process`."""
        self._processes[gpu] = process
        log.info("GPU %d: started its ComfyUI, pid %d", gpu, process.pid)
        reader = asyncio.ensure_future(self._log_output(gpu, process))
        self._output_readers.add(reader)
        reader.add_done_callback(self._output_readers.discard)
        code = await exit_code(process)
        end_process_group(process.pid)
        await asyncio.wait({reader}, timeout=OUTPUT_DRAIN_S)  # its last lines first, as a rule
        description = describe_exit(gpu, code)
        reason = self._kill_reasons.pop(gpu, None)
        if reason:
            description = f"{reason} ({description[description.index('exited'):]})"
        return description, exit_reason(code)

    @staticmethod
    async def _log_output(gpu: int, process: asyncio.subprocess.Process) -> None:
        while True:
            line = await process.stdout.readline()
            if not line:
                return
            log.info("[gpu %d] %s", gpu, plain_log_line(line))


async def exit_code(process: asyncio.subprocess.Process) -> int:
    """The process's exit status as soon as it has exited. Not `process.wait()`: that also waits for
    the stdout pipe to close, which a process the worker started (a custom node's helper, inheriting
    stdout) can hold open long after the worker died, and its prompt and GPU would wait as long."""
    while process.returncode is None:
        await asyncio.sleep(EXIT_POLL_S)
    return process.returncode


def end_process_group(pid: int) -> None:
    """SIGKILL what is left of a worker's process group (it leads its own): the processes a custom
    node started would otherwise outlive a crashed worker and keep its GPU memory and its stdout.
    PR_SET_PDEATHSIG covers the worker only, and is not inherited by its children."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # none left


# SGR colour codes (ESC [ params m): v0.33 colours its level tags, which pod logs and
# CloudWatch would show as escape noise.
_SGR = re.compile(r"\x1b\[[0-9;]*m")


def plain_log_line(raw: bytes) -> str:
    """One line of a worker's output as text for the pod log: decoded, colour codes removed."""
    return _SGR.sub("", raw.decode(errors="replace")).rstrip()
