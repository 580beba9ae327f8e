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


def test_the_cpu_rehearsal_lists_each_worker_with_the_cpu_its_thread_computes_on(comfy_stubs):
    """COMFY_MULTI_GPU_DEVICE=cpu: every worker is listed, so the rehearsal checks /system_stats
    against the real ComfyUI (stock lists the one CPU device, whatever the number of workers)."""
    import comfy.model_management as mm
    import torch

    devices = gpu_devices(mm, torch, 2, device_type="cpu")
    assert [(d["gpu_id"], d["name"], d["type"], d["index"]) for d in devices] == [(0, "cpu", "cpu", None),
                                                                                 (1, "cpu", "cpu", None)]
    assert devices[0]["vram_total"] == 64 * 2**30
