"""The launcher's environment, parsed once at start; every error names the variable and the fix.

Pure: the caller passes the environment, a function counting visible GPUs (called only in
multi-GPU mode, it starts a subprocess) and the machine's RAM.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, List, Mapping, Optional, Sequence

from .core.settings import PoolSettings

DEFAULT_COMFYUI_DIR = "/opt/comfyui"
DEFAULT_WARMUP_TIMEOUT_S = 600.0
# Share of RAM the weights cache may hold when COMFY_WEIGHTS_CACHE_GIB is unset: room for one
# large checkpoint set while leaving the rest to ComfyUI's own CPU offloading and node caches.
DEFAULT_WEIGHTS_CACHE_RAM_SHARE = 0.4
# main.py flags that pin ComfyUI to one device; they contradict one worker per GPU.
SINGLE_DEVICE_FLAGS = ("--cuda-device", "--default-device", "--cpu", "--directml", "--oneapi-device-selector")
# COMFY_MULTI_GPU_DEVICE: "cuda" (production), or "cpu": the CPU rehearsal, N workers sharing the
# CPU, so the real ComfyUI can be run through this launcher and adapter on a machine without GPUs.
DEVICE_TYPES = ("cuda", "cpu")
DEFAULT_CPU_WORKERS = 2
MAX_CPU_WORKERS = 16
# COMFY_MULTI_GPU_EXECUTOR: "thread" (one ComfyUI process drives every GPU, the adapter patches it)
# or "process" (one stock ComfyUI per GPU behind our front; docs/process-mode-design.md).
EXECUTORS = ("thread", "process")
# COMFY_WORKER_STALL_S (process mode): seconds of silence from a worker running a prompt before the
# front interrupts it, then kills it (core/stall_watch.py); a long VAE decode or load is silent.
DEFAULT_WORKER_STALL_S = 1800.0
# COMFY_WORKER_BASE_PORT (process mode): worker i listens on 127.0.0.1:<base + i>; 18188 is clear of
# the pod port 8188 and the nginx ports 8181-8196 (docs/process-mode-design.md 3.1).
DEFAULT_WORKER_BASE_PORT = 18188


class LaunchError(ValueError):
    pass


@dataclass(frozen=True)
class LaunchSettings:
    multi_gpu: bool
    comfyui_dir: str
    num_gpus: int = 0
    device_type: str = "cuda"
    executor: str = "thread"
    worker_stall_s: float = DEFAULT_WORKER_STALL_S
    worker_base_port: int = DEFAULT_WORKER_BASE_PORT
    # COMFY_WORKER_MMAP_TORCH_FILES (process mode, default on): workers load .pt/.ckpt files with
    # --mmap-torch-files, one page-cache copy instead of one private copy each (design section 4).
    worker_mmap_torch_files: bool = True
    weights_cache_bytes: int = 0
    warmup_timeout_s: float = DEFAULT_WARMUP_TIMEOUT_S
    pool: PoolSettings = PoolSettings()


def parse_launch_settings(env: Mapping[str, str], main_args: Sequence[str], *,
                          visible_gpus: Callable[[], int], total_ram_bytes: int) -> LaunchSettings:
    comfyui_dir = env.get("COMFYUI_DIR", "").strip() or DEFAULT_COMFYUI_DIR
    mode = env.get("COMFY_MULTI_GPU_SCHED", "").strip()
    if mode not in ("", "0", "1"):
        raise LaunchError(f"COMFY_MULTI_GPU_SCHED must be 1 (one process drives every GPU) or 0/unset "
                          f"(stock ComfyUI), got {mode!r}")
    if mode != "1":
        return LaunchSettings(multi_gpu=False, comfyui_dir=comfyui_dir)
    device_type = env.get("COMFY_MULTI_GPU_DEVICE", "").strip() or "cuda"
    if device_type not in DEVICE_TYPES:
        raise LaunchError(f"COMFY_MULTI_GPU_DEVICE must be cuda (default) or cpu (a rehearsal "
                          f"without GPUs), got {device_type!r}")
    # The image's Dockerfile bakes in the executor its ComfyUI release was verified for (build arg
    # COMFYUI_EXECUTOR, pins.py); it is also the default. Unset outside the image (tests, rehearsals).
    image_executor = env.get("COMFY_IMAGE_EXECUTOR", "").strip()
    if image_executor and image_executor not in EXECUTORS:
        raise LaunchError(f"COMFY_IMAGE_EXECUTOR (the image's COMFYUI_EXECUTOR build arg) must be thread or "
                          f"process, got {image_executor!r}: rebuild the image")
    executor = env.get("COMFY_MULTI_GPU_EXECUTOR", "").strip() or image_executor or "thread"
    if executor not in EXECUTORS:
        raise LaunchError(f"COMFY_MULTI_GPU_EXECUTOR must be thread (default: one process drives every "
                          f"GPU) or process (one stock ComfyUI per GPU), got {executor!r}")
    if image_executor and executor != image_executor:
        raise LaunchError(f"COMFY_MULTI_GPU_EXECUTOR={executor} does not match this image, built for "
                          f"{image_executor} mode (COMFY_IMAGE_EXECUTOR; its ComfyUI release is verified for that "
                          f"mode only): set COMFY_MULTI_GPU_EXECUTOR={image_executor}, or run the image built with "
                          f"--build-arg COMFYUI_EXECUTOR={executor} (config multiGpuExecutor picks its tag)")
    for arg in main_args:
        flag = arg.split("=", 1)[0]
        if flag in SINGLE_DEVICE_FLAGS and not (device_type == "cpu" and flag == "--cpu"):
            raise LaunchError(f"ComfyUI argument {flag} pins one device, which contradicts "
                              "COMFY_MULTI_GPU_SCHED=1; drop the argument or unset COMFY_MULTI_GPU_SCHED")
    if device_type == "cpu":
        num_gpus = _int(env, "COMFY_NUM_GPUS", default=DEFAULT_CPU_WORKERS)
        if not 1 <= num_gpus <= MAX_CPU_WORKERS:
            raise LaunchError(f"COMFY_NUM_GPUS must be 1..{MAX_CPU_WORKERS} workers on the CPU, "
                              f"got {num_gpus}")
    else:
        visible = visible_gpus()
        if visible < 1:
            raise LaunchError("COMFY_MULTI_GPU_SCHED=1 but no GPU is visible (check the pod's "
                              "nvidia.com/gpu limit and CUDA_VISIBLE_DEVICES)")
        num_gpus = _int(env, "COMFY_NUM_GPUS", default=visible)
        if not 1 <= num_gpus <= visible:
            raise LaunchError(f"COMFY_NUM_GPUS must be 1..{visible} (the GPUs visible to this "
                              f"process), got {num_gpus}")
    cache_gib = _float(env, "COMFY_WEIGHTS_CACHE_GIB", default=None)
    if cache_gib is not None and cache_gib < 0:
        raise LaunchError(f"COMFY_WEIGHTS_CACHE_GIB must be >= 0 (0 turns the cache off), got {cache_gib:g}")
    cache_bytes = (int(total_ram_bytes * DEFAULT_WEIGHTS_CACHE_RAM_SHARE) if cache_gib is None
                   else int(cache_gib * 2**30))
    stall_s = _float(env, "COMFY_WORKER_STALL_S", default=DEFAULT_WORKER_STALL_S)
    if stall_s < 0:
        raise LaunchError(f"COMFY_WORKER_STALL_S must be >= 0 seconds (0 = never interrupt a silent "
                          f"worker), got {stall_s:g}")
    base_port = _int(env, "COMFY_WORKER_BASE_PORT", default=DEFAULT_WORKER_BASE_PORT)
    if not 1024 <= base_port <= 65535 - num_gpus + 1:
        raise LaunchError(f"COMFY_WORKER_BASE_PORT must be 1024..{65535 - num_gpus + 1} (worker i listens "
                          f"on base + i), got {base_port}")
    mmap = env.get("COMFY_WORKER_MMAP_TORCH_FILES", "").strip() or "1"
    if mmap not in ("0", "1"):
        raise LaunchError(f"COMFY_WORKER_MMAP_TORCH_FILES must be 1 (default: workers map .pt files, "
                          f"one shared copy) or 0, got {mmap!r}")
    # Read by each worker's pack (worker_pack/multigpu_worker/save_lock.py), which can only warn: check it here.
    save_lock = env.get("COMFY_WORKER_SAVE_LOCK", "").strip() or "1"
    if save_lock not in ("0", "1"):
        raise LaunchError(f"COMFY_WORKER_SAVE_LOCK must be 1 (default: workers take the front's lock before "
                          f"numbering an output file) or 0, got {save_lock!r}")
    timeout = _float(env, "COMFY_WARMUP_TIMEOUT_S", default=DEFAULT_WARMUP_TIMEOUT_S)
    if timeout <= 0:
        raise LaunchError(f"COMFY_WARMUP_TIMEOUT_S must be > 0 seconds, got {timeout:g}")
    return LaunchSettings(multi_gpu=True, comfyui_dir=comfyui_dir, num_gpus=num_gpus, device_type=device_type,
                          executor=executor, worker_stall_s=stall_s, worker_base_port=base_port,
                          worker_mmap_torch_files=mmap == "1",
                          weights_cache_bytes=cache_bytes, warmup_timeout_s=timeout,
                          pool=_pool_settings(env))


def comfyui_args(settings: LaunchSettings, main_args: Sequence[str]) -> List[str]:
    """main.py's arguments: the CPU rehearsal adds --cpu, so ComfyUI's unbound code (the main
    thread, model_management's import-time probes) never asks CUDA either."""
    args = list(main_args)
    if settings.multi_gpu and settings.device_type == "cpu" and "--cpu" not in args:
        args.append("--cpu")
    return args


def custom_nodes_dir(comfyui_dir: str, main_args: Sequence[str]) -> str:
    """The custom_nodes folder main.py loads: `<--base-directory>/custom_nodes` when the arguments
    name one (folder_paths.py, v0.8.0; the last one wins, as in argparse), else ComfyUI's own."""
    base = None
    for index, arg in enumerate(main_args):
        if arg == "--base-directory" and index + 1 < len(main_args):
            base = main_args[index + 1]
        elif arg.startswith("--base-directory="):
            base = arg.split("=", 1)[1]
    return os.path.join(os.path.abspath(base) if base else comfyui_dir, "custom_nodes")


def _pool_settings(env: Mapping[str, str]) -> PoolSettings:
    defaults = PoolSettings()
    max_depth = _int(env, "COMFY_MAX_QUEUE_DEPTH", default=defaults.max_queue_depth)
    if max_depth < 0:
        raise LaunchError(f"COMFY_MAX_QUEUE_DEPTH must be >= 0 (0 = no limit), got {max_depth}")
    slack = _float(env, "COMFY_AFFINITY_SLACK", default=defaults.affinity_slack)
    if slack < 0:
        raise LaunchError(f"COMFY_AFFINITY_SLACK must be >= 0 executions, got {slack:g}")
    faults = _int(env, "COMFY_GPU_BREAKER_FAULTS", default=defaults.breaker_threshold)
    if faults < 0:
        raise LaunchError(f"COMFY_GPU_BREAKER_FAULTS must be >= 0 (0 = never take a GPU out of "
                          f"service), got {faults}")
    probe_s = _float(env, "COMFY_GPU_BREAKER_PROBE_S", default=defaults.breaker_probe_seconds)
    if probe_s <= 0:
        raise LaunchError(f"COMFY_GPU_BREAKER_PROBE_S must be > 0 seconds, got {probe_s:g}")
    # The job runner's SESSION_ACTIVITY_SECONDS (config sessionActivityMinutes): the window of the
    # comfyui_ws_sessions_recent gauge it scales on (core/sessions.py).
    session_s = _float(env, "COMFY_SESSION_ACTIVITY_S", default=defaults.session_activity_seconds)
    if session_s <= 0:
        raise LaunchError(f"COMFY_SESSION_ACTIVITY_S must be > 0 seconds, got {session_s:g}")
    return PoolSettings(max_queue_depth=max_depth, affinity_slack=slack, breaker_threshold=faults,
                        breaker_probe_seconds=probe_s, session_activity_seconds=session_s,
                        breaker_probe_max_seconds=max(defaults.breaker_probe_max_seconds, probe_s))


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise LaunchError(f"{name} must be a whole number, got {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: Optional[float]) -> Optional[float]:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise LaunchError(f"{name} must be a number, got {raw!r}") from None
