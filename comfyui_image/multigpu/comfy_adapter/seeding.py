"""Reproducible noise with concurrent workers: `prepare_noise` seeds a private generator.

Targets comfy/sample.py (v0.8.0) `prepare_noise`, which calls `torch.manual_seed(seed)` and draws
the noise from the returned generator: torch's process-wide default CPU generator. Two workers
seeding and drawing at once interleave on that one generator, so the same seed gives different
images. Instead of copying the function, the patch gives comfy/sample.py a `torch` whose
`manual_seed(seed)` returns a new `torch.Generator` seeded with `seed` (same sequence as the
default generator after seeding) and also seeds the current GPU's own generator, as the stock call
does for that device, leaving the other GPUs' generators alone. Everything else in the module's
`torch` is the real torch.

Not covered: comfy/samplers.py `KSAMPLER.sample` also calls `torch.manual_seed` when the inpaint
option "random" is set; custom nodes that seed the global generator stay as they are.
"""
from __future__ import annotations


class PrivateSeedTorch:
    """Stands in for the `torch` module inside comfy/sample.py."""

    def __init__(self, torch):
        self._torch = torch

    def manual_seed(self, seed):
        torch = self._torch
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            torch.cuda.manual_seed(seed)  # this thread's current device only
        return torch.Generator(device="cpu").manual_seed(seed)

    def __getattr__(self, name):
        return getattr(self._torch, name)


def patch_prepare_noise(sample_module) -> None:
    if isinstance(sample_module.torch, PrivateSeedTorch):
        return
    sample_module.torch = PrivateSeedTorch(sample_module.torch)
