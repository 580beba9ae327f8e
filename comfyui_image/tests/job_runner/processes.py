"""moto, simulators and runners as processes on 127.0.0.1 for the runner's tests and benchmark; each has a
hard lifetime (`timeout`), so nothing outlives a killed test run."""
from __future__ import annotations

import contextlib
import json
import os
import pathlib
import signal
import subprocess
import sys
import time
import urllib.request
from typing import Callable, Dict, Iterable, Optional

IMAGE_DIR = pathlib.Path(__file__).resolve().parents[2]
REPO_ROOT = IMAGE_DIR.parent
sys.path.insert(0, str(IMAGE_DIR / "tests" / "e2e"))
from server_process import free_port, http_json, serving  # noqa: E402

MOTO = REPO_ROOT / ".venv" / "bin" / "moto_server"
LIFETIME_SECONDS = 1200


def wait_for(check: Callable[[], object], what: str, timeout: float = 60.0, every: float = 0.05):
    """The first truthy value of `check()`; fails naming `what` after `timeout` (generous: shared CPUs)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


@contextlib.contextmanager
def moto(log_dir: pathlib.Path):
    port = free_port()
    if not MOTO.exists():
        raise RuntimeError(f"{MOTO} is missing: npm test builds the repository's .venv (moto[server])")
    with serving(["timeout", str(LIFETIME_SECONDS), str(MOTO), "-H", "127.0.0.1", "-p", str(port)],
                 ready_url=f"http://127.0.0.1:{port}/moto-api/data.json", log_path=log_dir / f"moto-{port}.log",
                 name="moto_server", startup_timeout=60):
        yield f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def simulator(log_dir: pathlib.Path, gpus: int = 4, exec_ms: float = 300, name: str = "pod",
              executor: Optional[str] = None):
    """`executor` (thread or process) defaults to COMFY_TEST_EXECUTOR, else thread: the runner talks to
    ComfyUI over HTTP like any client, so its suite can run against either mode."""
    executor = executor or os.environ.get("COMFY_TEST_EXECUTOR") or "thread"
    port = free_port()
    output = log_dir / f"{name}-output"
    base = f"http://127.0.0.1:{port}"
    args = ["timeout", str(LIFETIME_SECONDS), sys.executable, "-m", "multigpu.sim", "--gpus", str(gpus),
            "--port", str(port), "--exec-ms", str(exec_ms), "--load-ms", "0", "--warmup-ms", "0",
            "--output-dir", str(output), "--executor", executor]
    with serving(args, ready_url=base + "/readyz", log_path=log_dir / f"{name}-{port}.log", name=name,
                 startup_timeout=60, cwd=str(IMAGE_DIR)) as process:
        yield base, process, output


class RunnerProcess:
    def __init__(self, process: subprocess.Popen, health: str, log_path: pathlib.Path) -> None:
        self.process, self.health, self.log_path = process, health, log_path

    def events(self, name: Optional[str] = None) -> list:
        lines = [json.loads(line) for line in self.log_path.read_text().splitlines() if line.startswith("{")]
        return [line for line in lines if name is None or line.get("event") == name]

    def healthz(self) -> dict:
        return http_json("GET", self.health + "/healthz", timeout=5)[1]

    def kill(self, signum: int = signal.SIGKILL) -> None:
        # The runner is the child of `timeout`; signal the runner itself, as Kubernetes would.
        for child in _children(self.process.pid) or [self.process.pid]:
            os.kill(child, signum)


def _children(pid: int) -> list:
    path = pathlib.Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


@contextlib.contextmanager
def runner(log_dir: pathlib.Path, env: Dict[str, str], pods: Iterable[str], name: str = "runner-a",
           timings: Optional[Dict[str, str]] = None):
    port = free_port()
    full = {**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")}, **env,
            "COMFYUI_PODS": ",".join(pods), "RUNNER_NAME": name, "HEALTH_PORT": str(port), "HEALTH_HOST": "127.0.0.1",
            "PYTHONUNBUFFERED": "1",
            **(timings or {"JOB_HEARTBEAT_SECONDS": "0.5", "JOB_LEASE_SECONDS": "3",
                           "JOB_VISIBILITY_TIMEOUT_SECONDS": "5"})}
    log_path = log_dir / f"{name}-{port}.log"
    with serving(["timeout", "-s", "KILL", str(LIFETIME_SECONDS), sys.executable, "-m", "job_runner"],
                 ready_url=f"http://127.0.0.1:{port}/healthz", log_path=log_path, name=name,
                 startup_timeout=60, cwd=str(IMAGE_DIR), env=full) as process:
        handle = RunnerProcess(process, f"http://127.0.0.1:{port}", log_path)
        try:
            yield handle
        finally:
            if process.poll() is None:
                handle.kill(signal.SIGTERM)
