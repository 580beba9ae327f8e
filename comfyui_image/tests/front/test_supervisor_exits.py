"""The supervisor reports a worker's exit when the process ends, whatever still holds its output
pipe (front/supervisor.py), against real child processes."""
import asyncio
import os
import signal
import sys
import time

from multigpu.core.restart_policy import RestartPolicy
from multigpu.front.supervisor import WorkerSupervisor

# A worker that starts a helper inheriting its stdout (as a custom node's subprocess does), then dies.
WORKER_WITH_A_HELPER = """
import os, subprocess, sys
helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
open(sys.argv[1], "w").write(str(helper.pid))
print("worker up", flush=True)
os._exit(3)
"""


def test_a_worker_that_dies_while_its_helper_holds_its_output_open_is_reported_at_once(tmp_path):
    helper_pid_file = tmp_path / "helper.pid"
    exits = []

    async def scenario():
        supervisor = WorkerSupervisor(
            1, lambda gpu: [sys.executable, "-c", WORKER_WITH_A_HELPER, str(helper_pid_file)],
            on_exit=lambda gpu, description, reason: exits.append((gpu, description, reason)),
            policy=lambda: RestartPolicy(clock=time.monotonic, max_starts=1))  # no restart
        await supervisor.start()
        deadline = time.monotonic() + 20
        while not exits and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        end_helper()
        await asyncio.sleep(0.5)  # the pipe closes: its reader ends before the loop does
        await supervisor.stop()

    def end_helper():
        if helper_pid_file.exists():
            os.kill(int(helper_pid_file.read_text()), signal.SIGKILL)
            helper_pid_file.unlink()

    try:
        asyncio.run(scenario())
    finally:
        end_helper()
    assert exits == [(0, "ComfyUI for GPU 0 exited with code 3", "code_3")]


def test_a_worker_that_cannot_be_started_is_reported_naming_the_command_and_retried(tmp_path):
    missing = str(tmp_path / "no-such-python")
    exits = []

    async def scenario():
        supervisor = WorkerSupervisor(
            1, lambda gpu: [missing, "main.py"],
            on_exit=lambda gpu, description, reason: exits.append((gpu, description, reason)),
            policy=lambda: RestartPolicy(clock=time.monotonic, first_delay_s=0.01, max_starts=2))
        await supervisor.start()
        deadline = time.monotonic() + 10
        while len(exits) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await supervisor.stop()

    asyncio.run(scenario())
    assert len(exits) == 2  # started again after the first failure, as after an exit
    gpu, description, reason = exits[0]
    assert (gpu, reason) == (0, "not_started")
    assert description.startswith(f"ComfyUI for GPU 0 could not be started ({missing} main.py): ")
    assert "No such file or directory" in description


# A worker whose helper (its own output elsewhere) would outlive it, holding what it holds (GPU memory).
WORKER_WITH_A_QUIET_HELPER = """
import os, subprocess, sys
helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], stdout=subprocess.DEVNULL)
open(sys.argv[1], "w").write(str(helper.pid))
os._exit(3)
"""


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan killed under an init that does not reap stays one)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_the_processes_a_worker_started_end_with_it(tmp_path):
    helper_pid_file = tmp_path / "helper.pid"
    states = []

    async def scenario():
        exited = asyncio.Event()
        supervisor = WorkerSupervisor(
            1, lambda gpu: [sys.executable, "-c", WORKER_WITH_A_QUIET_HELPER, str(helper_pid_file)],
            on_exit=lambda gpu, description, reason: exited.set(),
            policy=lambda: RestartPolicy(clock=time.monotonic, max_starts=1))
        await supervisor.start()
        await asyncio.wait_for(exited.wait(), 20)
        helper = int(helper_pid_file.read_text())
        deadline = time.monotonic() + 5
        while running(helper) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        states.append(running(helper))
        await supervisor.stop()

    try:
        asyncio.run(scenario())
    finally:
        if helper_pid_file.exists() and running(int(helper_pid_file.read_text())):
            os.kill(int(helper_pid_file.read_text()), signal.SIGKILL)
    assert states == [False]
