"""Reproducible noise with concurrent workers: every ComfyUI seed draws from a private generator.

Targets the v0.8.0 call sites that seed and draw with `generator = torch.manual_seed(seed)`, which
seeds torch's process-wide default CPU generator (and, through `torch.cuda.manual_seed_all`, every
GPU's generator) and returns it:
- comfy/sample.py `prepare_noise` (the KSampler noise);
- comfy/samplers.py `KSAMPLER.sample` (inpaint option "random");
- comfy/ldm/modules/diffusionmodules/upscaling.py `AbstractLowScaleModel.q_sample` (SD x4 upscaler);
- comfy_extras/nodes_images.py `ImageAddNoise.execute` (loaded by file path, not by import, so it is
  found through the node's class once the nodes loaded: `patch_node_module`).
Two workers seeding and drawing at once interleave on that one generator, so the same seed gives
different images depending on the neighbours. Instead of copying the functions, each module gets a
`torch` whose `manual_seed(seed)` returns a new `torch.Generator` seeded with `seed` (the same
sequence as the default generator after seeding) and seeds only the calling thread's current GPU,
leaving the other GPUs' generators alone. Everything else in the module's `torch` is the real torch.

Not covered: custom nodes that seed or draw from the global generators stay as they are.
"""
from __future__ import annotations

import logging
import sys
from typing import Optional

log = logging.getLogger("multigpu.seeding")


class PrivateSeedTorch:
    """Stands in for the `torch` module inside a module that seeds with `torch.manual_seed`."""

    def __init__(self, torch):
        self._torch = torch

    def manual_seed(self, seed):
        torch = self._torch
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            torch.cuda.manual_seed(seed)  # this thread's current device only
        return torch.Generator(device="cpu").manual_seed(seed)

    def __getattr__(self, name):
        return getattr(self._torch, name)


def patch_private_seed(module) -> None:
    if isinstance(module.torch, PrivateSeedTorch):
        return
    module.torch = PrivateSeedTorch(module.torch)


patch_prepare_noise = patch_private_seed  # comfy.sample


def patch_node_module(nodes_module, node_name: str) -> Optional[str]:
    """Give the module that defines node `node_name` a private-seed torch; call once the nodes
    loaded. Returns the module's name, or None (logged) when the node is not there."""
    node_class = getattr(nodes_module, "NODE_CLASS_MAPPINGS", {}).get(node_name)
    module = sys.modules.get(getattr(node_class, "__module__", None) or "")
    if module is None or not hasattr(module, "torch"):
        log.warning("Node %s not found after the nodes loaded: its seeding stays on the global "
                    "generator", node_name)
        return None
    patch_private_seed(module)
    return module.__name__
