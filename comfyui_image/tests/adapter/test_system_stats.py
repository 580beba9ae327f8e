"""The GPUs the adapter reports in /system_stats, from ComfyUI's memory functions."""
from multigpu.comfy_adapter.system_stats import gpu_devices


def test_one_entry_per_gpu_in_the_stock_shape_with_each_gpus_own_figures(comfy_stubs):
    import comfy.model_management as mm
    import torch

    devices = gpu_devices(mm, torch, 2)
    assert [d["gpu_id"] for d in devices] == [0, 1]
    assert devices[1] == {"name": "cuda:1 Stub GPU", "type": "cuda", "index": 1,
                          "vram_total": 24 * 2**30, "vram_free": 19 * 2**30,
                          "torch_vram_total": 23 * 2**30, "torch_vram_free": 2**29, "gpu_id": 1}
