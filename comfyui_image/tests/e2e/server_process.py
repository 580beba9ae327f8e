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
