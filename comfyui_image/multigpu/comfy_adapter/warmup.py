"""A small real workload on one GPU before the worker takes prompts.

Not a full prompt: that would need a model on disk (the pod may not have synced any yet) and
would load weights into VRAM that the first real prompt may not want. What the probes need to
know is that this GPU runs kernels from this thread: a CUDA context exists, cuBLAS and cuDNN load
and execute, and memory can be allocated. A matmul and a convolution in the dtype ComfyUI prefers
on the device do that in well under a second once the libraries are loaded.
"""
from __future__ import annotations

import logging
import time

from .device import worker_device

log = logging.getLogger("multigpu.warmup")


def warm_up_gpu(torch, gpu_id: int, device_type: str = "cuda") -> float:
    """Runs the workload, raises if it fails or yields non-finite values; returns seconds taken."""
    started = time.perf_counter()
    device = worker_device(torch, device_type, gpu_id)
    # Half precision is what ComfyUI runs on a GPU; CPU kernels for it are partial, so the CPU
    # rehearsal warms up in float32.
    dtype = torch.float16 if device_type == "cuda" else torch.float32
    with torch.inference_mode():
        a = torch.randn(1024, 1024, device=device, dtype=dtype)
        product = a @ a.T
        image = torch.randn(1, 4, 64, 64, device=device, dtype=dtype)
        kernel = torch.randn(8, 4, 3, 3, device=device, dtype=dtype)
        convolved = torch.nn.functional.conv2d(image, kernel, padding=1)
        if device_type == "cuda":
            torch.cuda.synchronize(device)
        if not (torch.isfinite(product).all().item() and torch.isfinite(convolved).all().item()):
            raise RuntimeError(f"GPU {gpu_id}: warmup produced non-finite values; check the GPU")
    seconds = time.perf_counter() - started
    log.info("GPU %d warmup (matmul + conv2d on %s) took %.2f s", gpu_id, device, seconds)
    return seconds


def probe_gpu(torch, gpu_id: int, device_type: str = "cuda") -> None:
    """The breaker's probe (core/breaker.py): a tiny kernel and a synchronize, so a GPU whose CUDA
    context is broken (a sticky error such as an illegal memory access, a lost device) raises here,
    while a healthy one answers in milliseconds without touching its loaded models."""
    device = worker_device(torch, device_type, gpu_id)
    with torch.inference_mode():
        a = torch.randn(8, 8, device=device, dtype=torch.float32)
        product = a @ a.T
        if device_type == "cuda":
            torch.cuda.synchronize(device)
        if not torch.isfinite(product).all().item():
            raise RuntimeError(f"GPU {gpu_id}: probe produced non-finite values")
