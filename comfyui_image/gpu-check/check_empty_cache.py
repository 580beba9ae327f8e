"""The empty_cache stall (issue 22 item 4): matmul latency on GPU 0 while another thread empties
the CUDA cache in a loop, against the same loop alone, and with the adapter's rate limit.

`torch.cuda.empty_cache()` (and `ipc_collect()`, which ComfyUI's soft_empty_cache also calls) has
no device argument; with the cudaMallocAsync backend ComfyUI enables for +cu builds it
synchronizes every initialized device. The trimming thread runs on the last GPU (GPU 0 when there
is one), as another worker would.
"""
from __future__ import annotations

import threading
from typing import Dict

from stats import latencies_ms, line, summary_ms


def run(torch, *, device_type: str, size: int, seconds: float) -> Dict[str, object]:
    gpus = torch.cuda.device_count() if device_type == "cuda" else 0
    device = torch.device("cuda", 0) if gpus else torch.device("cpu")
    a = torch.randn(size, size, device=device, dtype=torch.float16 if gpus else torch.float32)
    b = torch.randn_like(a)

    def step():
        (a @ b).sum().item()  # .item() waits for the kernel

    step()
    alone = summary_ms(latencies_ms(step, seconds=seconds))
    results = {"allocator": _allocator(torch) if gpus else "cpu", "alone": alone}
    if not gpus:
        print(line("empty_cache", skipped="no CUDA device (dry run): the stall needs a GPU", **alone))
        return results
    for mode, trims_per_s in (("stock", None), ("rate_limited", 1.0 / 30)):
        results[mode] = _with_trimmer(torch, step, seconds, gpus - 1, trims_per_s)
    print(line("empty_cache", allocator=results["allocator"], size=size,
               alone_p50=alone["p50_ms"], alone_p99=alone["p99_ms"],
               stock_p50=results["stock"]["p50_ms"], stock_p99=results["stock"]["p99_ms"],
               stock_trims=results["stock"]["trims"],
               limited_p50=results["rate_limited"]["p50_ms"], limited_p99=results["rate_limited"]["p99_ms"],
               limited_trims=results["rate_limited"]["trims"]))
    return results


def _with_trimmer(torch, step, seconds: float, trim_gpu: int, trims_per_s) -> Dict[str, float]:
    """Matmul latency while another thread (bound to `trim_gpu`) allocates, frees and empties the
    cache: back to back ("stock": the worst case of N workers loading models, each load trimming)
    or at the adapter's rate limit (cache_trim.py: once per 30 s per GPU)."""
    stop = threading.Event()
    trims = [0]

    def trimmer():
        torch.cuda.set_device(trim_gpu)
        while not stop.is_set():
            torch.empty(64 << 20, dtype=torch.uint8, device="cuda")  # freed at once: cached to give back
            torch.cuda.empty_cache()
            torch.cuda.ipc_collect()
            trims[0] += 1
            if trims_per_s is not None:
                stop.wait(1.0 / trims_per_s)

    thread = threading.Thread(target=trimmer, daemon=True)
    thread.start()
    try:
        figures = summary_ms(latencies_ms(step, seconds=seconds))
    finally:
        stop.set()
        thread.join(60)
    figures["trims"] = trims[0]
    return figures


def _allocator(torch) -> str:
    backend = getattr(torch.cuda.memory, "get_allocator_backend", None)
    return backend() if backend else "unknown"
