"""Every GPU in GET /system_stats, not only the one the HTTP thread sees.

Targets server.py (v0.8.0) `system_stats`, which describes `comfy.model_management.get_torch_device()`
only: on the aiohttp thread that is GPU 0, so clients (comfyctl bench, dashboards) counted one GPU.
The multi-GPU middleware keeps the stock answer and replaces its "devices" with one entry per
worker GPU in the stock shape (plus `gpu_id`), from the same model_management functions with an
explicit device: `get_torch_device_name`, `get_total_memory(dev, torch_total_too=True)` and
`get_free_memory(dev, torch_free_too=True)`. In the CPU rehearsal (COMFY_MULTI_GPU_DEVICE=cpu) each
worker is listed with the CPU device its thread computes on, so the rehearsal runs this path against
the real ComfyUI too.
"""
from __future__ import annotations

from typing import Dict, List

from .device import worker_device


def gpu_devices(model_management, torch, num_gpus: int, device_type: str = "cuda") -> List[Dict[str, object]]:
    devices = []
    for gpu in range(num_gpus):
        device = worker_device(torch, device_type, gpu)
        vram_total, torch_vram_total = model_management.get_total_memory(device, torch_total_too=True)
        vram_free, torch_vram_free = model_management.get_free_memory(device, torch_free_too=True)
        devices.append({
            "name": model_management.get_torch_device_name(device),
            "type": device.type,
            "index": device.index,
            "vram_total": vram_total,
            "vram_free": vram_free,
            "torch_vram_total": torch_vram_total,
            "torch_vram_free": torch_vram_free,
            "gpu_id": gpu,
        })
    return devices
