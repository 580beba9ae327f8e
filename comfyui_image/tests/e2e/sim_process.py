"""Start the simulator (`python -m multigpu.sim`) on 127.0.0.1 for a test, and stop it after; in
thread mode (one process) or process mode (the front over one simulated stock worker per GPU)."""
from __future__ import annotations

import contextlib
import pathlib
import sys

from multigpu.sim.workflow import sim_workflow as workflow  # noqa: F401 (re-exported for the tests)
from server_process import free_port, http_json, serving  # noqa: F401 (http_json re-exported)

IMAGE_DIR = pathlib.Path(__file__).resolve().parents[2]
# COMFY_MULTI_GPU_EXECUTOR's values: the simulator's suites run once per mode.
EXECUTORS = ["thread", "process"]


@contextlib.contextmanager
def running_sim(output_dir, gpus=4, exec_ms=300, load_ms=0, startup_timeout=None, extra_args=(),
                executor="thread"):
    """Process mode starts a Python process per GPU: on a busy 2-core runner that takes seconds."""
    if startup_timeout is None:
        startup_timeout = 15.0 if executor == "thread" else 60.0
    port = free_port()
    log_path = pathlib.Path(output_dir).parent / f"sim-{port}.log"
    base = f"http://127.0.0.1:{port}"
    args = [sys.executable, "-m", "multigpu.sim", "--gpus", str(gpus), "--port", str(port),
            "--exec-ms", str(exec_ms), "--load-ms", str(load_ms), "--output-dir", str(output_dir),
            "--executor", executor, *extra_args]
    with serving(args, ready_url=base + "/readyz", log_path=log_path, name="simulator",
                 startup_timeout=startup_timeout, cwd=str(IMAGE_DIR)):
        yield base, log_path
