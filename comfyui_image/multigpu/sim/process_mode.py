"""The simulator in process mode: the real front (multigpu/front) and supervisor over N simulated
stock ComfyUI workers (sim/stock_worker.py), each a `python -m multigpu.sim --as-worker` process on
its own loopback port, sharing the output and input folders and owning a temp folder."""
from __future__ import annotations

import os
import socket
import sys
from typing import List, Sequence

from aiohttp import web

from ..core.settings import PoolSettings
from ..front.app import FrontOptions, build_front_app


def free_ports(count: int) -> List[int]:
    """Ports the kernel says are free now (a worker binds its own a moment later)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def build_sim_front(*, gpus: int, ports: Sequence[int], output_dir: str, input_dir: str,
                    temp_root: str, exec_ms: float, load_ms: float, settings: PoolSettings,
                    prompt_id_rule: str = "uuid", previews: int = 0, stall_s: float = 0.0,
                    stall_grace_s: float = 60.0, liveness_s: float = 10.0) -> web.Application:
    if len(ports) != gpus:
        raise ValueError(f"--worker-ports must list {gpus} ports, got {len(ports)}")

    def command(gpu: int) -> List[str]:
        return [sys.executable, "-m", "multigpu.sim", "--as-worker", "--port", str(ports[gpu]),
                "--exec-ms", str(exec_ms), "--load-ms", str(load_ms), "--output-dir", output_dir,
                "--input-dir", input_dir, "--temp-dir", os.path.join(temp_root, f"gpu{gpu}"),
                "--prompt-id-rule", prompt_id_rule, "--previews", str(previews)]

    def environment(gpu: int) -> dict:
        package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        path = os.environ.get("PYTHONPATH")
        return dict(os.environ, CUDA_VISIBLE_DEVICES=str(gpu),
                    PYTHONPATH=package_root + (os.pathsep + path if path else ""))

    app, _, _ = build_front_app(FrontOptions(
        num_gpus=gpus, worker_urls=[f"http://127.0.0.1:{port}" for port in ports],
        worker_command=command, worker_environment=environment, settings=settings,
        warmup_timeout_s=120.0, prompt_id_rule=prompt_id_rule, comfyui_version="simulator",
        stall_s=stall_s, stall_grace_s=stall_grace_s, liveness_s=liveness_s))
    return app
