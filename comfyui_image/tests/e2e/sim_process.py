"""Start the simulator (`python -m multigpu.sim`) on 127.0.0.1 for a test, and stop it after."""
from __future__ import annotations

import contextlib
import json
import pathlib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from multigpu.sim.workflow import sim_workflow as workflow  # noqa: F401 (re-exported for the tests)

IMAGE_DIR = pathlib.Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_sim(output_dir, gpus=4, exec_ms=300, load_ms=0, startup_timeout=15.0):
    port = free_port()
    log_path = pathlib.Path(output_dir).parent / f"sim-{port}.log"
    log = open(log_path, "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "multigpu.sim", "--gpus", str(gpus), "--port", str(port),
         "--exec-ms", str(exec_ms), "--load-ms", str(load_ms), "--output-dir", str(output_dir)],
        cwd=IMAGE_DIR, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"simulator exited: {log_path.read_text()}")
            try:
                if http_json("GET", base + "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"simulator not ready in {startup_timeout}s: {log_path.read_text()}")
            time.sleep(0.05)
        yield base, log_path
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def http_json(method, url, body=None, headers=None, timeout=10):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        raw, status = error.read(), error.code
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw
