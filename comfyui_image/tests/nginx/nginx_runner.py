"""Runs a real nginx with the per-GPU config (multigpu.nginx_config) on 127.0.0.1, for tests.

    nginx_bin = nginx_or_skip()
    with running_nginx(num_gpus=4, upstream_port=backend_port, nginx_bin=nginx_bin) as ports:
        ...  # ports[i] forwards to 127.0.0.1:backend_port with X-TARGET-GPU: i

nginx comes from $NGINX_BIN, else from build/tools/nginx (bash scripts/nginx.sh installs it there).
"""
import os
import random
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List, Optional

import pytest

from multigpu.nginx_config import render_nginx_config

REPO_ROOT = Path(__file__).resolve().parents[3]
INSTALLED_NGINX = REPO_ROOT / "build" / "tools" / "nginx" / "usr" / "sbin" / "nginx"
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
# A port probed free can be taken before nginx binds it; starting again on other ports fixes that.
START_ATTEMPTS = 3


def find_nginx() -> Optional[str]:
    """$NGINX_BIN when set (it must then be executable), else the installed binary, else None."""
    configured = os.environ.get("NGINX_BIN")
    if configured:
        if not os.access(configured, os.X_OK):
            raise RuntimeError(f"NGINX_BIN={configured!r} is not an executable file; fix it or unset it")
        return configured
    return str(INSTALLED_NGINX) if os.access(INSTALLED_NGINX, os.X_OK) else None


def nginx_or_skip() -> str:
    """The nginx binary, or a skip that says how to install one."""
    nginx_bin = find_nginx()
    if nginx_bin is None:
        pytest.skip(f"nginx not installed: run 'bash scripts/nginx.sh' (installs {INSTALLED_NGINX}) or set NGINX_BIN")
    return nginx_bin


def free_port_block(count: int, avoid: int = 0) -> int:
    """The first of `count` consecutive ports that are free on 127.0.0.1 and do not include `avoid`."""
    for _ in range(100):
        first = random.randint(20000, 60000 - count)
        if first <= avoid < first + count:
            continue
        if all(_is_free(port) for port in range(first, first + count)):
            return first
    raise RuntimeError(f"found no {count} consecutive free ports on 127.0.0.1; close some listeners and retry")


def check_nginx_config(conf_text: str, nginx_bin: str) -> subprocess.CompletedProcess:
    """`nginx -t` on the config, with its temp folder in a scratch directory."""
    with tempfile.TemporaryDirectory(prefix="nginx-test-") as prefix:
        conf = Path(prefix) / "nginx.conf"
        conf.write_text(conf_text)
        return subprocess.run(
            [nginx_bin, "-p", prefix, "-c", str(conf), "-e", "stderr", "-t"],
            capture_output=True, text=True, timeout=STOP_TIMEOUT_S,
        )


@contextmanager
def running_nginx(num_gpus: int, upstream_port: int, *, nginx_bin: str) -> Iterator[List[int]]:
    """Start nginx in front of 127.0.0.1:upstream_port, wait until every GPU port accepts, yield the ports."""
    with tempfile.TemporaryDirectory(prefix="nginx-run-") as prefix:
        for attempt in range(1, START_ATTEMPTS + 1):
            first_port = free_port_block(num_gpus, avoid=upstream_port)
            ports = list(range(first_port, first_port + num_gpus))
            conf = Path(prefix) / "nginx.conf"
            conf.write_text(render_nginx_config(
                num_gpus, upstream=f"127.0.0.1:{upstream_port}", first_port=first_port,
                listen_address="127.0.0.1", temp_dir=prefix,
            ))
            log_path = Path(prefix) / "nginx.log"
            with open(log_path, "w") as log:
                process = subprocess.Popen(
                    [nginx_bin, "-p", prefix, "-c", str(conf), "-e", "stderr", "-g", "daemon off;"],
                    stdout=log, stderr=subprocess.STDOUT,
                )
            try:
                if _wait_for_ports(process, ports):
                    yield ports
                    return
            finally:
                _stop(process)
            log_text = log_path.read_text()
            if "Address already in use" not in log_text or attempt == START_ATTEMPTS:
                raise RuntimeError(f"nginx did not open ports {ports} in {START_TIMEOUT_S}s; its log:\n{log_text}")


def _wait_for_ports(process: subprocess.Popen, ports: List[int]) -> bool:
    deadline = time.monotonic() + START_TIMEOUT_S
    waiting = list(ports)
    while waiting and time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", waiting[0]), timeout=0.5):
                waiting.pop(0)
        except OSError:
            time.sleep(0.05)
    return not waiting and process.poll() is None


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()  # SIGTERM: nginx's fast shutdown, which also stops its workers
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_S)


def _is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
