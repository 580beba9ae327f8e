"""Throughput of a random-weight SDXL-sized model with 1 vs N workers (issue 22, "On a GPU").

An SDXL UNet has about 2.6 billion parameters (5.1 GB in fp16). The stand-in is a stack of MLP
blocks of that size (no attention, so no flash-attention kernels to differ between builds), run
for `steps` steps per "prompt" on a batch of 2 x `tokens` tokens (CFG), one copy per GPU, each
driven by its own worker thread bound as the adapter binds them. The figure to read is the
speedup: N GPUs should give close to N times one GPU's prompts per second.
"""
from __future__ import annotations

import threading
import time
from typing import Dict

from multigpu.comfy_adapter.worker_binding import bind_current_thread
from stats import line

SDXL_PARAMS = 2.6e9


def build(torch, device, *, width: int, blocks: int, dtype):
    """Random weights created on the device itself (no 10 GB fp32 copy in host RAM per GPU)."""
    layers = []
    for _ in range(blocks):
        layers += [torch.nn.Linear(width, 4 * width, device=device, dtype=dtype), torch.nn.GELU(),
                   torch.nn.Linear(4 * width, width, device=device, dtype=dtype)]
    return torch.nn.Sequential(*layers).eval()


def run(torch, *, device_type: str, width: int, blocks: int, tokens: int, steps: int,
        prompts: int) -> Dict[str, object]:
    gpus = torch.cuda.device_count() if device_type == "cuda" else 0
    dtype = torch.float16 if gpus else torch.float32
    devices = [torch.device("cuda", i) for i in range(gpus)] or [torch.device("cpu")]
    params = blocks * 8 * width * width
    one = _round(torch, devices[:1], width, blocks, tokens, steps, prompts, dtype)
    many = _round(torch, devices, width, blocks, tokens, steps, prompts, dtype) if len(devices) > 1 else one
    speedup = round(many / one, 2) if one else 0.0
    figures = {"params_b": round(params / 1e9, 2), "sdxl_ratio": round(params / SDXL_PARAMS, 2),
               "workers": len(devices), "one_gpu_prompts_s": round(one, 3),
               "all_gpus_prompts_s": round(many, 3), "speedup": speedup}
    print(line("throughput", **figures))
    return figures


def _round(torch, devices, width, blocks, tokens, steps, prompts, dtype) -> float:
    """Prompts per second with one worker thread per device, each running `prompts` prompts."""
    ready = threading.Barrier(len(devices) + 1)
    done = threading.Barrier(len(devices) + 1)
    errors = []

    def worker(gpu: int, device) -> None:
        try:
            bind_current_thread(gpu)
            if device.type == "cuda":
                torch.cuda.set_device(device)
            with torch.inference_mode():
                model = build(torch, device, width=width, blocks=blocks, dtype=dtype)
                x = torch.randn(2, tokens, width, device=device, dtype=dtype)
                model(x).sum().item()  # warm up kernels and the allocator
                ready.wait()
                for _ in range(prompts):
                    h = x
                    for _ in range(steps):
                        h = model(h) * 0.5
                    h.sum().item()
            del model
        except BaseException as error:  # reported below, after the barriers
            errors.append(error)
            ready.abort()
        finally:
            try:
                done.wait()
            except threading.BrokenBarrierError:
                pass

    threads = [threading.Thread(target=worker, args=(i, d)) for i, d in enumerate(devices)]
    for t in threads:
        t.start()
    try:
        ready.wait()
    except threading.BrokenBarrierError:
        pass
    started = time.perf_counter()
    try:
        done.wait()
    except threading.BrokenBarrierError:
        pass
    seconds = time.perf_counter() - started
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    if devices[0].type == "cuda":
        torch.cuda.empty_cache()
    return len(devices) * prompts / seconds
