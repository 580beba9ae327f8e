"""Benchmark of the scheduling core with the simulated executor.

    cd comfyui_image && .venv/bin/python -m multigpu.sim.benchmark [--exec-ms 200] [--prompts 40]

Prints:
  1. throughput with N simulated GPUs vs 1 (target >= 3.9x),
  2. routing overhead per prompt: GpuPool.submit in process, and POST /prompt over loopback HTTP
     through the real middleware and intake (p50/p99),
  3. model loads with affinity routing vs round-robin on a mixed-checkpoint workload.
Figures are for the scheduler, not for a GPU; real-hardware figures come from `bench` on a node.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import tempfile
import threading
import time
from typing import List

from ..core.pool import GpuPool
from ..core.routing import round_robin
from ..core.task import Task, models_in_prompt
from .app import SimOptions, build_sim_app
from .executor import SimExecutor
from .workflow import sim_workflow

CHECKPOINTS = ("sd_xl_base_1.0.safetensors", "sd_xl_refiner_1.0.safetensors",
               "v1-5-pruned-emaonly.safetensors")


def _task(i: int, ckpt: str) -> Task:
    prompt = sim_workflow(seed=i, steps=4, ckpt=ckpt)
    return Task(number=i, prompt_id=f"bench-{i}", prompt=prompt, outputs_to_execute=["9"],
                models=models_in_prompt(prompt))


def _percentile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


def _run(gpus: int, tasks: List[Task], exec_ms: float, load_ms: float, chooser=None):
    """Submit all tasks at once; return (seconds until all finished, executor)."""
    with tempfile.TemporaryDirectory() as out:
        executor = SimExecutor(gpus, exec_ms=exec_ms, load_ms=load_ms, warmup_ms=0,
                               output_dir=out, send=lambda *a: None)
        pool = GpuPool(executor, gpus, chooser=chooser)
        pool.start()
        pool.wait_until_warm(10)
        started = time.perf_counter()
        for task in tasks:
            pool.submit(task)
        while len(pool.history) < len(tasks):
            time.sleep(0.002)
        elapsed = time.perf_counter() - started
        pool.stop()
        return elapsed, executor


def throughput(gpus: int, prompts: int, exec_ms: float) -> None:
    one, _ = _run(1, [_task(i, CHECKPOINTS[0]) for i in range(prompts)], exec_ms, 0)
    many, executor = _run(gpus, [_task(i, CHECKPOINTS[0]) for i in range(prompts * gpus)], exec_ms, 0)
    rate_one, rate_many = prompts / one, prompts * gpus / many
    counts = [sum(1 for g in executor.executed_on.values() if g == gpu) for gpu in range(gpus)]
    print(f"1. throughput: 1 GPU {rate_one:.2f} prompts/s ({prompts} prompts in {one:.2f}s); "
          f"{gpus} GPUs {rate_many:.2f} prompts/s ({prompts * gpus} in {many:.2f}s); "
          f"speedup {rate_many / rate_one:.2f}x (target >= {gpus - 0.1:.1f}x); per-GPU {counts}")


def submit_overhead(gpus: int, samples: int = 5000) -> None:
    executor = SimExecutor(gpus, exec_ms=0, load_ms=0, warmup_ms=0, output_dir=".",
                           send=lambda *a: None)
    pool = GpuPool(executor, gpus)  # not started: measures placement alone, queues grow
    timings = []
    for i in range(samples):
        task = _task(i, CHECKPOINTS[i % 3])
        started = time.perf_counter()
        pool.submit(task)
        timings.append((time.perf_counter() - started) * 1e6)
    print(f"2a. routing in process (GpuPool.submit, queues growing to {samples}): "
          f"p50 {_percentile(timings, 0.5):.1f}us, p99 {_percentile(timings, 0.99):.1f}us")


def http_overhead(gpus: int, samples: int = 300) -> None:
    import aiohttp
    from aiohttp import web

    async def measure() -> List[float]:
        with tempfile.TemporaryDirectory() as out:
            app, pool, _ = build_sim_app(SimOptions(gpus=gpus, exec_ms=0, load_ms=0, warmup_ms=0,
                                                    output_dir=out))
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]
            timings = []
            async with aiohttp.ClientSession() as session:
                for i in range(samples):
                    body = {"prompt": sim_workflow(seed=i, ckpt=CHECKPOINTS[i % 3]),
                            "client_id": "bench"}
                    started = time.perf_counter()
                    async with session.post(f"http://127.0.0.1:{port}/prompt", json=body) as r:
                        await r.read()
                        if r.status != 200:  # timing a rejected prompt would flatter the figure
                            raise RuntimeError(f"POST /prompt answered {r.status}: {await r.text()}")
                    timings.append((time.perf_counter() - started) * 1000)
            await runner.cleanup()
            return timings

    timings = asyncio.run(measure())
    print(f"2b. POST /prompt over loopback HTTP (middleware, validation, routing): "
          f"p50 {_percentile(timings, 0.5):.2f}ms, p99 {_percentile(timings, 0.99):.2f}ms")


def affinity(gpus: int, prompts: int, exec_ms: float, load_ms: float) -> None:
    # Bursts of prompts per checkpoint, as an art team switches between a few models.
    order = list(itertools.chain.from_iterable(
        [CHECKPOINTS[(i // 6) % 3]] for i in range(prompts)))
    results = {}
    for name, chooser in (("affinity", None),
                          ("round-robin", _round_robin_chooser(gpus))):
        elapsed, executor = _run(gpus, [_task(i, c) for i, c in enumerate(order)], exec_ms,
                                 load_ms, chooser)
        results[name] = (sum(executor.model_loads), elapsed)
    aff, rr = results["affinity"], results["round-robin"]
    print(f"3. model loads for {prompts} prompts over {len(CHECKPOINTS)} checkpoints: affinity "
          f"{aff[0]} ({aff[1]:.2f}s), round-robin {rr[0]} ({rr[1]:.2f}s); "
          f"{rr[0] - aff[0]} loads avoided")


def _round_robin_chooser(gpus: int):
    counter = itertools.count()
    lock = threading.Lock()

    def choose(loads, models):
        with lock:
            return round_robin(next(counter), gpus)

    return choose


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m multigpu.sim.benchmark")
    parser.add_argument("--gpus", type=int, default=4)
    parser.add_argument("--prompts", type=int, default=40, help="prompts for one GPU")
    parser.add_argument("--exec-ms", type=float, default=200.0)
    parser.add_argument("--load-ms", type=float, default=400.0)
    args = parser.parse_args(argv)
    print(f"multigpu scheduler benchmark: {args.gpus} simulated GPUs, exec {args.exec_ms:.0f}ms, "
          f"model load {args.load_ms:.0f}ms (python {sys.version.split()[0]})", flush=True)
    throughput(args.gpus, args.prompts, args.exec_ms)
    submit_overhead(args.gpus)
    http_overhead(args.gpus)
    affinity(args.gpus, args.prompts * 2, args.exec_ms, args.load_ms)
    return 0


if __name__ == "__main__":
    sys.exit(main())
