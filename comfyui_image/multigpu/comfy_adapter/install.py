"""install(): make the ComfyUI that main.py is about to start run one worker per GPU.

Called by the launcher (multigpu/launch.py) before it runs ComfyUI's main.py. It imports no
ComfyUI module itself: every patch is applied by a post-import hook the moment ComfyUI imports the
module it targets (see post_import.py for why). What each hook does, and which ComfyUI function
it targets, is in the module named beside it below.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence

from ..core.cache_metrics import expose_weights_cache
from ..core.keyed_locks import KeyedLocks
from ..core.pinned_memory import PinnedLedger, expose_pinned_memory
from ..core.pool import GpuPool
from ..core.settings import PoolSettings
from .cache_trim import patch_soft_empty_cache
from .device import patch_get_torch_device, select_device
from .executor import ComfyExecutor
from .filename_locks import patch_save_image_path, release_after_node
from .graph_prefix import patch_graph_builder
from .interrupt import GpuInterruptFlags, patch_interrupts
from .loaded_models import patch_loaded_models
from .patch_guard import PatchGuard
from .placement import patch_load_models_gpu, patch_onnxruntime
from .post_import import PostImportHooks
from .pinning import patch_pinning
from .preview_method import patch_preview_method
from .progress import patch_progress
from .prompt_queue import make_prompt_queue_class
from .seeding import patch_node_module, patch_private_seed
from .server_hooks import patch_server_startup
from .server_state import patch_prompt_server
from .system_stats import gpu_devices
from .thread_binding import (DeviceBinder, UnboundDeviceWarning, patch_executor_submit,
                             patch_thread_start)
from .weights_cache import MmapLoads, new_weights_cache, patch_load_torch_file

log = logging.getLogger("multigpu.install")


@dataclass
class Installation:
    pool: GpuPool
    hooks: PostImportHooks
    interrupt_flags: GpuInterruptFlags
    file_locks: KeyedLocks
    undo: List[Callable[[], None]] = field(default_factory=list)

    def uninstall(self) -> None:
        """Tests: take the process-wide patches (import hooks, threading) off again."""
        self.hooks.uninstall()
        while self.undo:
            self.undo.pop()()


def _default_install_routes(app, pool) -> None:
    from ..http.install import install_routes

    install_routes(app, pool)


def install(comfyui_dir: str, num_gpus: int, *, weights_cache_bytes: int,
            warmup_timeout_s: float = 600.0, settings: Optional[PoolSettings] = None,
            readiness_checks: Sequence[Callable[[], Optional[str]]] = (),
            install_routes: Callable = _default_install_routes,
            device_type: str = "cuda") -> Installation:
    if not os.path.isfile(os.path.join(comfyui_dir, "main.py")):
        raise FileNotFoundError(f"no ComfyUI main.py in {comfyui_dir!r}; pass the ComfyUI checkout "
                                "directory (the image has it at /opt/comfyui)")
    if comfyui_dir not in sys.path:
        sys.path.insert(0, comfyui_dir)  # what `python main.py` gives ComfyUI's own imports

    flags = GpuInterruptFlags(num_gpus)
    file_locks = KeyedLocks()
    server_ref = _ServerRef()
    executor = ComfyExecutor(interrupt_flags=flags, file_locks=file_locks, server=server_ref.get,
                             device_type=device_type)
    guard = PatchGuard()
    pool = GpuPool(executor, num_gpus, settings=settings, on_queue_changed=server_ref.queue_updated,
                   system_devices=_system_devices(num_gpus, device_type),
                   readiness_checks=[*readiness_checks, guard.problem])
    hooks = PostImportHooks()
    patched = []
    pinned = PinnedLedger()
    expose_pinned_memory(pool.metrics.registry, pinned, num_gpus)

    def on(module_name: str, what: str, patch: Callable, optional: bool = False) -> None:
        def apply(module) -> None:
            guard.record_changes(module, patch)
            log.info("Patched %s: %s", module_name, what)
        hooks.when_imported(module_name, apply, optional=optional)
        patched.append(module_name)

    def patch_model_management(mm) -> None:
        import torch

        patch_interrupts(mm, flags, off_worker=lambda: pool.interrupt())  # scoped, not global
        patch_loaded_models(mm)
        patch_get_torch_device(mm, torch, device_type,
                               on_unbound=UnboundDeviceWarning(lambda: bool(pool.running_prompt_ids())))
        patch_soft_empty_cache(mm)
        patch_load_models_gpu(mm, device_type)
        patch_pinning(mm, torch, pinned, weights_cache_bytes=weights_cache_bytes, num_gpus=num_gpus)

    def patch_execution(execution) -> None:
        execution.PromptQueue = make_prompt_queue_class(pool, execution.PromptQueue)

    def after_nodes_loaded() -> None:
        nodes = sys.modules.get("nodes")
        if nodes is not None:
            patched_module = patch_node_module(nodes, "ImageAddNoise")
            if patched_module:
                guard.record(sys.modules[patched_module], "torch", f"{patched_module}.torch")
        guard.log_after_nodes_loaded()

    def patch_server(server_module) -> None:
        patch_prompt_server(server_module, on_node_boundary=lambda: release_after_node(file_locks))
        patch_server_startup(server_module, pool, install_routes=install_routes,
                             warmup_timeout_s=warmup_timeout_s, pending_hooks=hooks.pending,
                             after_nodes_loaded=after_nodes_loaded)
        server_ref.module = server_module

    on("comfy.model_management", "per-GPU interrupt flag, loaded-model list, device; "
       "empty_cache only after an unload, rate-limited per GPU; pinned memory per GPU",
       patch_model_management)
    if weights_cache_bytes > 0:
        weights_cache = new_weights_cache(weights_cache_bytes)
        mmap_loads = MmapLoads()
        expose_weights_cache(pool.metrics.registry, weights_cache, lambda: mmap_loads.count)
        on("comfy.utils", f"load_torch_file shared cache ({weights_cache_bytes / 2**30:.1f} GiB)",
           lambda m: patch_load_torch_file(m, weights_cache, mmap_loads))
    else:
        log.info("Shared weights cache off (COMFY_WEIGHTS_CACHE_GIB=0)")
    on("onnxruntime", "CUDA sessions created on a worker use its GPU", patch_onnxruntime, optional=True)
    on("comfy.sample", "prepare_noise uses a private generator", patch_private_seed)
    on("comfy.samplers", "inpaint 'random' noise uses a private generator", patch_private_seed)
    on("comfy.ldm.modules.diffusionmodules.upscaling", "upscaler noise uses a private generator",
       patch_private_seed)
    on("latent_preview", "preview method per GPU", patch_preview_method)
    on("folder_paths", "output file counters locked per (folder, prefix)",
       lambda m: patch_save_image_path(m, file_locks))
    on("comfy_execution.progress", "progress registry per GPU", patch_progress)
    on("comfy_execution.graph_utils", "GraphBuilder prefix per GPU", patch_graph_builder)
    on("execution", "PromptQueue replaced by the GPU pool", patch_execution)
    on("server", "per-GPU client_id/last_prompt_id/last_node_id; pool start and warmup "
       "before listening", patch_server)
    hooks.install()
    binder = _device_binder(device_type)
    undo = [patch_thread_start(binder), patch_executor_submit(binder)]
    guard.record(threading.Thread, "start", "threading.Thread.start")
    guard.record(ThreadPoolExecutor, "submit", "concurrent.futures.ThreadPoolExecutor.submit")
    log.info("Threads and executor tasks started by a GPU worker run on its GPU")
    log.info("Multi-GPU adapter installed for %d GPUs; patches wait for: %s",
             num_gpus, ", ".join(patched))
    return Installation(pool=pool, hooks=hooks, interrupt_flags=flags, file_locks=file_locks, undo=undo)


def _device_binder(device_type: str) -> DeviceBinder:
    def select(gpu: int) -> None:
        import torch

        select_device(torch, device_type, gpu)

    def current() -> Optional[int]:
        if device_type != "cuda":
            return None
        import torch

        return torch.cuda.current_device()

    return DeviceBinder(select, current)


def _system_devices(num_gpus: int, device_type: str) -> Callable[[], list]:
    def devices() -> list:
        import torch
        import comfy.model_management as mm

        return gpu_devices(mm, torch, num_gpus, device_type)

    return devices


class _ServerRef:
    """The PromptServer, found through the server module once ComfyUI created it."""

    module = None

    def get(self):
        instance = getattr(getattr(self.module, "PromptServer", None), "instance", None)
        if instance is None:
            raise RuntimeError("ComfyUI's PromptServer does not exist yet; the pool must start "
                               "from PromptServer.add_routes (server_hooks.py)")
        return instance

    def queue_updated(self) -> None:
        instance = getattr(getattr(self.module, "PromptServer", None), "instance", None)
        if instance is not None and hasattr(instance, "loop"):
            instance.queue_updated()
