"""Test nodes check_oom.py installs into a scratch custom_nodes folder. Not loaded by the image."""
import torch

import comfy.model_management as mm


class _GpuCheckNode:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"seed": ("INT", {"default": 0})}}

    RETURN_TYPES = ()
    OUTPUT_NODE = True
    FUNCTION = "run"
    CATEGORY = "gpu-check"


class GpuCheckOverAllocate(_GpuCheckNode):
    """Asks for twice the GPU's memory: a real torch.OutOfMemoryError on the worker's GPU."""

    def run(self, seed):
        device = mm.get_torch_device()
        total = torch.cuda.get_device_properties(device).total_memory
        torch.empty(2 * total, dtype=torch.uint8, device=device)
        return {}


class GpuCheckMatmul(_GpuCheckNode):
    """A small matmul on the worker's GPU; reports the device it ran on."""

    def run(self, seed):
        a = torch.randn(1024, 1024, device=mm.get_torch_device())
        (a @ a).sum().item()
        return {"ui": {"device": [str(a.device)]}}


NODE_CLASS_MAPPINGS = {"GpuCheckOverAllocate": GpuCheckOverAllocate, "GpuCheckMatmul": GpuCheckMatmul}
