"""Run a local HTTP server process for a test: start it, wait until it answers, always stop it.

Standard library only: the CPU rehearsal (rehearsal/) imports this too, from ComfyUI's own venv.
"""
from __future__ import annotations

import contextlib
import json
import pathlib
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from typing import Mapping, Optional, Sequence


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_json(method, url, body=None, headers=None, timeout=10):
    """(status, parsed JSON, or the raw bytes when the body is not JSON); HTTP errors don't raise."""
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


def wait_history(base, prompt_id, timeout=10.0):
    """The history entry of `prompt_id` once the prompt has ended (ComfyUI writes it in task_done)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = http_json("GET", f"{base}/history/{prompt_id}")
        if status == 200 and body:
            return body[prompt_id]
        time.sleep(0.05)
    raise AssertionError(f"{prompt_id} not in history after {timeout:g} s")


def metric(base, name):
    """The value of an unlabelled series on GET /metrics."""
    text = http_json("GET", base + "/metrics")[1].decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not on /metrics")


@contextlib.contextmanager
def serving(args: Sequence[str], *, ready_url: str, log_path: pathlib.Path, name: str,
            startup_timeout: float, cwd: Optional[str] = None, env: Optional[Mapping[str, str]] = None,
            stop_signal: int = signal.SIGTERM):
    """Yields once GET `ready_url` answers 200; the process' output goes to `log_path`."""
    log = open(log_path, "w")
    process = subprocess.Popen(list(args), cwd=cwd, env=None if env is None else dict(env),
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{log_path.read_text()[-4000:]}")
            try:
                if http_json("GET", ready_url, timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} not ready in {startup_timeout:.0f} s:\n{log_path.read_text()[-4000:]}")
            time.sleep(0.05)
        yield process
    finally:
        process.send_signal(stop_signal)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.close()
