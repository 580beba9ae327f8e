"""The latent preview method per GPU worker instead of one process-wide setting.

Targets latent_preview.py (v0.8.0) `set_preview_method(override)`, which execution.py
`PromptExecutor.execute_async` calls for every prompt with its `extra_data["preview_method"]` (and
some custom nodes call too), and which writes the global `args.preview_method`; and
`get_previewer(device, latent_format)`, which reads it when a sampler prepares its callback
(`prepare_callback` calls it through the module, so replacing the module attribute covers it).
With a prompt on every GPU, GPU 1's prompt asking for no previews would switch off GPU 0's TAESD
previews halfway through, or the reverse.

On a worker, `set_preview_method` records the method for that GPU (stock's own function computes
it, under a lock, and the global is put back), and `get_previewer` runs with that method in the
global for the length of the call, under the same lock. Creating a previewer (a TAESD decoder
load, a few MB) is therefore serialised across GPUs; decoding previews is not. Other threads get
stock behaviour, and code that reads `args.preview_method` itself sees the server's default.
"""
from __future__ import annotations

import threading
from types import SimpleNamespace

from .worker_binding import PerGpuSlots, bound_gpu


def patch_preview_method(latent_preview) -> None:
    original_set = latent_preview.set_preview_method
    if getattr(original_set, "_multigpu_original", None):
        return
    original_get = latent_preview.get_previewer
    args = latent_preview.args
    lock = threading.Lock()
    # None: the prompt set nothing yet, follow the server's setting.
    slots = PerGpuSlots(lambda: SimpleNamespace(method=None))

    def set_preview_method(override=None):
        gpu = bound_gpu()
        if gpu is None:
            return original_set(override)
        with lock:
            saved = args.preview_method
            try:
                original_set(override)
                slots.for_gpu(gpu).method = args.preview_method
            finally:
                args.preview_method = saved

    def get_previewer(device, latent_format, *more, **options):
        gpu = bound_gpu()
        if gpu is None:
            return original_get(device, latent_format, *more, **options)
        method = slots.for_gpu(gpu).method
        with lock:
            saved = args.preview_method
            if method is not None:
                args.preview_method = method
            try:
                return original_get(device, latent_format, *more, **options)
            finally:
                args.preview_method = saved

    set_preview_method._multigpu_original = original_set
    get_previewer._multigpu_original = original_get
    latent_preview.set_preview_method = set_preview_method
    latent_preview.get_previewer = get_previewer
