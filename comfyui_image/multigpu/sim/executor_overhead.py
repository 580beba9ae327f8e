"""Per-prompt overhead by executor (docs/process-mode-design.md 5.3):

    cd comfyui_image && .venv/bin/python -m multigpu.sim.executor_overhead [--prompts 100] [--exec-ms 50]

For each mode, the simulator with one GPU in its own process (thread: the pool runs the simulated
executor; process: the front forwards to one simulated stock worker: validation call, forward,
relay, history harvest). One client sends prompts one after another over POST /prompt and waits
on its WebSocket for `executing null`; the overhead is that latency minus the execution time.
Figures are the scheduler's and the loopback hop's, not a GPU's.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import List

from .benchmark import _percentile
from .workflow import sim_workflow

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@contextlib.contextmanager
def _simulator(executor: str, exec_ms: float, port: int, folder: str, startup_timeout: float = 120.0):
    args = [sys.executable, "-m", "multigpu.sim", "--gpus", "1", "--port", str(port), "--exec-ms",
            str(exec_ms), "--load-ms", "0", "--warmup-ms", "0", "--output-dir", os.path.join(folder, "out"),
            "--executor", executor]
    with open(os.path.join(folder, f"{executor}.log"), "w") as log:
        process = subprocess.Popen(args, cwd=PACKAGE_ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + startup_timeout
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"the {executor}-mode simulator exited with {process.returncode}")
                with contextlib.suppress(OSError):
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2):
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the {executor}-mode simulator was not ready in {startup_timeout:g} s")
                time.sleep(0.1)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(30)


async def _latencies(base: str, prompts: int) -> List[float]:
    import aiohttp

    timings = []
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{base}/ws?clientId=bench") as socket:
            await socket.receive_json(timeout=10)
            for i in range(prompts):
                started = time.perf_counter()
                body = {"prompt": sim_workflow(seed=i, steps=1), "client_id": "bench"}
                async with session.post(f"{base}/prompt", json=body) as answer:
                    prompt_id = (await answer.json())["prompt_id"]
                while True:
                    message = await socket.receive_json(timeout=30)
                    if message["type"] == "executing" and message["data"] == {"node": None, "prompt_id": prompt_id}:
                        break
                timings.append((time.perf_counter() - started) * 1000)
    return timings


def measure(executor: str, prompts: int, exec_ms: float) -> List[float]:
    """Overheads in ms, one per prompt, after a few warm-up prompts."""
    from .process_mode import free_ports

    with tempfile.TemporaryDirectory() as folder, _simulator(executor, exec_ms, free_ports(1)[0], folder) as base:
        asyncio.run(_latencies(base, 5))
        return [t - exec_ms for t in asyncio.run(_latencies(base, prompts))]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m multigpu.sim.executor_overhead")
    parser.add_argument("--prompts", type=int, default=100)
    parser.add_argument("--exec-ms", type=float, default=50.0)
    args = parser.parse_args(argv)
    results = {mode: measure(mode, args.prompts, args.exec_ms) for mode in ("thread", "process")}
    print(f"4. per-prompt overhead by executor ({args.prompts} sequential prompts, 1 simulated GPU, "
          f"exec {args.exec_ms:.0f}ms subtracted; POST /prompt to WebSocket executing-null):")
    for mode, overheads in results.items():
        print(f"   {mode:7s}: p50 {_percentile(overheads, 0.5):.1f}ms, p99 {_percentile(overheads, 0.99):.1f}ms")
    extra = _percentile(results["process"], 0.5) - _percentile(results["thread"], 0.5)
    print(f"   process mode adds {extra:.1f}ms at p50 (target < 20ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
