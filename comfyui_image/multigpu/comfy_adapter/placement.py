"""Work that custom nodes would put on another worker's GPU (issue 22 item 3).

- `patch_load_models_gpu` targets comfy/model_management.py (v0.8.0) `load_models_gpu(models, ...)`:
  a ModelPatcher carries the device it loads to (`load_device`), fixed when it was created. A node
  that keeps models in a module global (Efficiency Nodes' loaded-objects cache) hands GPU 0's
  patcher to GPU 1's prompt, which would then run on GPU 0 next to GPU 0's own prompt. The prompt
  fails instead, with an error that says why. A bare "cuda" device (no index) is the thread's
  current device, which is the worker's GPU, so it passes.
- `patch_onnxruntime` targets `onnxruntime.InferenceSession(path_or_bytes, sess_options, providers,
  provider_options, **kwargs)`: CUDA and TensorRT execution providers default to `device_id` 0
  (DWPose, insightface, rembg). A session created on a worker thread gets that worker's GPU.
  Sessions created off the workers (at import) keep what they asked for.
"""
from __future__ import annotations

import logging
from typing import Any, List, Optional, Sequence, Tuple

from .worker_binding import bound_gpu

log = logging.getLogger("multigpu.placement")

GPU_PROVIDERS = frozenset({"CUDAExecutionProvider", "TensorrtExecutionProvider"})


class ModelOnAnotherGpuError(RuntimeError):
    pass


def foreign_gpu(device: Any, gpu: Optional[int]) -> Optional[int]:
    """The other GPU `device` names, or None when it is this worker's, the CPU or a bare "cuda"."""
    if gpu is None or getattr(device, "type", None) != "cuda":
        return None
    index = getattr(device, "index", None)
    return index if index is not None and index != gpu else None


def patch_load_models_gpu(mm, device_type: str) -> None:
    original = mm.load_models_gpu
    if device_type != "cuda" or getattr(original, "_multigpu_original", None):
        return

    def load_models_gpu(models, *args, **kwargs):
        gpu = bound_gpu()
        for model in models:
            other = foreign_gpu(getattr(model, "load_device", None), gpu)
            if other is not None:
                name = type(getattr(model, "model", model)).__name__
                raise ModelOnAnotherGpuError(
                    f"model {name} belongs to GPU {other} but this prompt runs on GPU {gpu}: a custom "
                    f"node kept it from another worker (a module-level model cache) or created it for a "
                    f"fixed device. Such a node cannot share a process between GPUs; send its prompts "
                    f"to one GPU with X-TARGET-GPU, or use the single-gpu overlay")
        return original(models, *args, **kwargs)

    load_models_gpu._multigpu_original = original
    mm.load_models_gpu = load_models_gpu


def bind_providers(providers: Optional[Sequence], provider_options: Optional[Sequence],
                   gpu: int) -> Tuple[Optional[List], Optional[Sequence]]:
    """`providers` as (name, options) pairs with device_id set to `gpu` for GPU providers;
    provider_options folded in (onnxruntime refuses both forms at once)."""
    if not providers or not any(_name(p) in GPU_PROVIDERS for p in providers):
        return (list(providers) if providers else providers), provider_options
    bound = []
    for i, provider in enumerate(providers):
        name = _name(provider)
        options = dict(provider[1]) if isinstance(provider, (tuple, list)) else {}
        if provider_options and i < len(provider_options):
            options.update(provider_options[i] or {})
        if name in GPU_PROVIDERS:
            if str(options.get("device_id", gpu)) != str(gpu):
                log.info("onnxruntime %s asked for device_id %s on GPU %d's worker; using %d",
                         name, options["device_id"], gpu, gpu)
            options["device_id"] = gpu
        bound.append((name, options))
    return bound, None


def _name(provider) -> str:
    return provider[0] if isinstance(provider, (tuple, list)) else provider


def patch_onnxruntime(onnxruntime) -> None:
    cls = onnxruntime.InferenceSession
    original = cls.__init__
    if getattr(original, "_multigpu_original", None):
        return

    def __init__(self, path_or_bytes, sess_options=None, providers=None, provider_options=None, **kwargs):
        gpu = bound_gpu()
        if gpu is not None:
            providers, provider_options = bind_providers(providers, provider_options, gpu)
        original(self, path_or_bytes, sess_options, providers, provider_options, **kwargs)

    __init__._multigpu_original = original
    cls.__init__ = __init__
