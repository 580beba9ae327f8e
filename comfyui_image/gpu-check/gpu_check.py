"""GPU checks for the multi-GPU server (issue 22): one script that prints figures, under 10 minutes
on a machine with one or more NVIDIA GPUs.

    python3 comfyui_image/gpu-check/gpu_check.py [--comfyui /opt/comfyui] [--only NAME ...]
    python3 comfyui_image/gpu-check/gpu_check.py --dry-run      # CPU, tiny sizes (npm test)

Checks, in order (each prints one or more `name: key=value ...` lines, then a JSON summary):
  threads     where helper threads of a GPU worker compute, stock vs the adapter's patches
  empty_cache matmul p50/p99 on GPU 0, alone / with another thread emptying the cache / rate-limited
  pin_race    one shared CPU tensor pinned and unpinned by a thread per GPU while each copies it
  throughput  a random-weight SDXL-sized model (2.6 B parameters), 1 GPU vs every GPU
  oom         the real ComfyUI through the launcher: an over-allocating node is retried once, then
              fails with one error, and the next prompt on that GPU succeeds (needs --comfyui)

Run it where torch with CUDA is installed, e.g. the image with this folder mounted:
  docker run --rm --gpus all -v "$PWD/comfyui_image:/src:ro" --entrypoint python3 IMAGE \\
    /src/gpu-check/gpu_check.py --comfyui /opt/comfyui
Like ComfyUI on a +cu torch build, it selects the cudaMallocAsync allocator before torch loads
(--native-allocator keeps PyTorch's own). Without torch, --dry-run checks the plan and the parts
that need no torch, and reports the rest as skipped.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # the checks, and the multigpu package beside them

ALLOCATOR = "backend:cudaMallocAsync"
CHECKS = ("threads", "empty_cache", "pin_race", "throughput", "oom")
# Sizes: (GPU, dry run). The GPU ones keep the whole script under 10 minutes on 8 GPUs.
SIZES = {
    "matmul": (8192, 64), "seconds": (20.0, 0.2), "pin_mib": (256, 1), "pin_rounds": (50, 2),
    "width": (2560, 32), "blocks": (49, 2), "tokens": (1024, 8), "steps": (20, 2), "prompts": (6, 2),
}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="CPU and tiny sizes: checks the script")
    parser.add_argument("--comfyui", help="a ComfyUI checkout for the end-to-end OOM check")
    parser.add_argument("--only", nargs="+", choices=CHECKS, help="run only these checks")
    parser.add_argument("--native-allocator", action="store_true",
                        help="keep PyTorch's native CUDA allocator instead of cudaMallocAsync")
    return parser.parse_args(argv)


def main(argv) -> int:
    args = parse_args(argv)
    args.allocator_was_set = "PYTORCH_CUDA_ALLOC_CONF" in os.environ
    if not args.native_allocator and not args.dry_run:
        os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", ALLOCATOR)  # as ComfyUI's cuda_malloc.py
    size = {name: values[1 if args.dry_run else 0] for name, values in SIZES.items()}
    wanted = args.only or CHECKS
    try:
        import torch
    except ImportError:
        torch = None
    results = {}
    started = time.perf_counter()
    device_type = "cpu" if args.dry_run or torch is None or not torch.cuda.is_available() else "cuda"
    if device_type == "cpu" and not args.dry_run:
        print("gpu-check: no CUDA device visible; pass --dry-run to check the script on the CPU", file=sys.stderr)
        return 2
    print(f"gpu-check: torch {getattr(torch, '__version__', 'not installed')}, device {device_type}, "
          f"{torch.cuda.device_count() if device_type == 'cuda' else 0} GPUs, checks {' '.join(wanted)}")
    for name in wanted:
        if torch is None and name != "oom":
            results[name] = {"skipped": "torch is not installed"}
            print(f"{name}: skipped=torch is not installed")
            continue
        results[name] = run_check(name, torch, device_type, size, args)
    results["seconds"] = round(time.perf_counter() - started, 1)
    print("gpu-check summary: " + json.dumps(results, sort_keys=True, default=str))
    return 0


def run_check(name, torch, device_type, size, args):
    if name == "threads":
        import check_threads
        return check_threads.run(torch, device_type=device_type)
    if name == "empty_cache":
        import check_empty_cache
        return check_empty_cache.run(torch, device_type=device_type, size=size["matmul"],
                                     seconds=size["seconds"])
    if name == "pin_race":
        import check_pinning
        return check_pinning.run(torch, device_type=device_type, mib=size["pin_mib"], rounds=size["pin_rounds"])
    if name == "throughput":
        import check_throughput
        return check_throughput.run(torch, device_type=device_type, width=size["width"], blocks=size["blocks"],
                                    tokens=size["tokens"], steps=size["steps"], prompts=size["prompts"])
    if device_type != "cuda" or not args.comfyui:
        reason = "needs a GPU and --comfyui DIR (the real ComfyUI)"
        print(f"oom: skipped={reason}")
        return {"skipped": reason}
    import check_oom
    if os.environ.get("PYTORCH_CUDA_ALLOC_CONF") == ALLOCATOR and not args.allocator_was_set:
        del os.environ["PYTORCH_CUDA_ALLOC_CONF"]  # ComfyUI's cuda_malloc.py appends its own
    return check_oom.run(comfyui_dir=args.comfyui, gpus=torch.cuda.device_count())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
