"""The image's entry point: stock ComfyUI, or one ComfyUI process driving every GPU.

    python3 -m multigpu.launch [--] <ComfyUI main.py arguments>

Without COMFY_MULTI_GPU_SCHED=1 this replaces itself with `python3 main.py <args>` (os.execv):
stock ComfyUI, unchanged. With it and COMFY_MULTI_GPU_EXECUTOR=process: our front (multigpu/front) with
one stock ComfyUI per GPU (run_process_mode). With it otherwise (thread mode): parse the environment (launch_settings.py), report custom nodes
that hard-code a CUDA device, install the adapter's patches (comfy_adapter/install.py), then run
ComfyUI's main.py as __main__ in this process. The port opens only after every GPU warmed up
(comfy_adapter/server_hooks.py).
"""
from __future__ import annotations

import logging
import os
import runpy
import subprocess
import sys
from typing import List, Optional

from .launch_settings import (LaunchError, LaunchSettings, comfyui_args, custom_nodes_dir,
                              parse_launch_settings)

log = logging.getLogger("multigpu.launch")
# Process mode: adds our node pack (worker_pack/multigpu_worker) to each worker's custom_nodes.
WORKER_PACK_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker_pack", "extra_paths.yaml")


def configure_logging() -> None:
    """Our loggers ("multigpu.*") get their own handler: ComfyUI's setup_logger later adds one to
    the root logger, and propagating to both would print every line twice."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    package_log = logging.getLogger("multigpu")
    package_log.addHandler(handler)
    package_log.setLevel(logging.INFO)
    package_log.propagate = False


def count_visible_gpus() -> int:
    """Asked in a child process: importing torch here would come before main.py sets the CUDA
    allocator environment (cuda_malloc.py), which must happen before torch loads."""
    probe = "import torch; print(torch.cuda.device_count())"
    output = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                            text=True, timeout=120).stdout
    return int(output.strip().splitlines()[-1])


def total_ram_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def report_hard_coded_devices(folder: str) -> None:
    from .core.device_scan import custom_nodes_in, format_findings, scan_paths, unsafe

    if not os.path.isdir(folder):
        return
    nodes = custom_nodes_in(folder)
    findings = scan_paths(nodes)
    level = logging.WARNING if unsafe(findings) else logging.INFO
    log.log(level, "Custom-node device scan:\n%s", format_findings(findings, len(nodes)))


def models_ready_checks(env) -> list:
    """/readyz stays 503 until the node's model sync wrote MODELS_READY_MARKER (if the pod sets it)."""
    from .core.readiness import marker_file_check

    marker = env.get("MODELS_READY_MARKER", "").strip()
    return [marker_file_check(marker)] if marker else []


def expose_output_usage(registry, env) -> bool:
    """/metrics shows the output shipper's measurement of the local output folder when the pod names its
    file (COMFY_OUTPUT_USAGE_FILE); the file may appear later, the collector reads it at each scrape."""
    from .core.output_usage import OutputUsageCollector

    path = env.get("COMFY_OUTPUT_USAGE_FILE", "").strip()
    if path:
        registry.register(OutputUsageCollector(path))
    return bool(path)


def run_multi_gpu(settings: LaunchSettings, main_args: List[str]) -> None:
    from .comfy_adapter.install import install

    report_hard_coded_devices(custom_nodes_dir(settings.comfyui_dir, main_args))
    installation = install(settings.comfyui_dir, settings.num_gpus, weights_cache_bytes=settings.weights_cache_bytes,
            warmup_timeout_s=settings.warmup_timeout_s, settings=settings.pool,
            readiness_checks=models_ready_checks(os.environ), device_type=settings.device_type)
    expose_output_usage(installation.pool.metrics.registry, os.environ)
    main_py = os.path.join(settings.comfyui_dir, "main.py")
    sys.argv = [main_py, *comfyui_args(settings, main_args)]
    runpy.run_path(main_py, run_name="__main__")


def run_process_mode(settings: LaunchSettings, main_args: List[str]) -> int:
    """Process mode: our front on the pod's --listen/--port, one stock ComfyUI per GPU behind it
    (process_plan.py; docs/process-mode-design.md 3.1). Returns when the front stops."""
    from aiohttp import web

    from .front.app import FrontOptions, build_front_app
    from .http.origin_guard import cors_origin_from_args
    from .process_plan import plan_process_mode, prompt_id_rule_for

    plan = plan_process_mode(settings, main_args, os.environ, extra_paths_config=WORKER_PACK_CONFIG)
    version = comfyui_version(settings.comfyui_dir)
    main_py = os.path.join(settings.comfyui_dir, "main.py")
    for worker in plan.workers:
        os.makedirs(worker.temp_dir, exist_ok=True)  # its database file lives there from the start
    log.info("Process mode: %d stock ComfyUI %s workers on ports %d..%d behind the front on %s:%d",
             len(plan.workers), version, plan.workers[0].port, plan.workers[-1].port,
             ",".join(plan.front_hosts), plan.front_port)
    app, pool, _ = build_front_app(FrontOptions(
        num_gpus=len(plan.workers), worker_urls=[w.url for w in plan.workers],
        worker_command=lambda gpu: [sys.executable, main_py, *plan.workers[gpu].args],
        worker_environment=lambda gpu: dict(os.environ, **plan.workers[gpu].env_overrides),
        settings=settings.pool, warmup_timeout_s=settings.warmup_timeout_s,
        prompt_id_rule=prompt_id_rule_for(version), stall_s=settings.worker_stall_s,
        comfyui_version=version, readiness_checks=models_ready_checks(os.environ),
        cors_origin=cors_origin_from_args(main_args)))
    expose_output_usage(pool.metrics.registry, os.environ)
    web.run_app(app, host=list(plan.front_hosts), port=plan.front_port, print=None)
    return 0


def comfyui_version(comfyui_dir: str) -> str:
    """`__version__` of comfyui_version.py (v0.3.2x and later), or "unknown"."""
    try:
        with open(os.path.join(comfyui_dir, "comfyui_version.py")) as handle:
            for line in handle:
                if line.startswith("__version__"):
                    return line.split("=", 1)[1].strip().strip("\"'")
    except OSError:
        pass
    return "unknown"


def main(argv: Optional[List[str]] = None) -> int:
    main_args = list(sys.argv[1:] if argv is None else argv)
    if main_args[:1] == ["--"]:
        main_args = main_args[1:]
    configure_logging()
    try:
        settings = parse_launch_settings(os.environ, main_args, visible_gpus=count_visible_gpus,
                                         total_ram_bytes=total_ram_bytes())
    except LaunchError as error:
        log.error("%s", error)
        return 2
    main_py = os.path.join(settings.comfyui_dir, "main.py")
    if not settings.multi_gpu:
        os.execv(sys.executable, [sys.executable, main_py, *main_args])
        return 0  # only reached when execv is replaced (tests)
    log.info("Multi-GPU launch: %d GPUs, weights cache %.1f GiB, ComfyUI at %s",
             settings.num_gpus, settings.weights_cache_bytes / 2**30, settings.comfyui_dir)
    if settings.device_type == "cpu":
        log.warning("CPU rehearsal (COMFY_MULTI_GPU_DEVICE=cpu): %d workers share the CPU; for "
                    "checking the launcher and adapter against a real ComfyUI, not for serving",
                    settings.num_gpus)
    if settings.executor == "process":
        try:
            return run_process_mode(settings, main_args)
        except LaunchError as error:
            log.error("%s", error)
            return 2
    run_multi_gpu(settings, main_args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
