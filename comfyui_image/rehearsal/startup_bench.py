"""Time the real ComfyUI's start, from spawning the pod's launcher to /readyz answering 200, the step of the
cold-start budget (docs/scaling.md) that this machine can measure. CPU workers: a GPU node adds CUDA's
initialisation and the warmup on the device, which are not measured here.

    <rehearsal python> comfyui_image/rehearsal/startup_bench.py --comfyui DIR [--runs 3] [--workers 2]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import pathlib

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from comfyui_process import running_comfyui  # noqa: E402


def time_one_start(comfyui_dir: str, workers: int) -> float:
    with tempfile.TemporaryDirectory(prefix="comfyui-startup-") as scratch:
        started = time.monotonic()
        with running_comfyui(comfyui_dir, pathlib.Path(scratch), workers):
            return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--comfyui", required=True, help="ComfyUI checkout at the pinned release")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, got {args.runs}")
    seconds = []
    for run in range(1, args.runs + 1):
        print(f"start {run}/{args.runs} ...", file=sys.stderr, flush=True)
        seconds.append(time_one_start(args.comfyui, args.workers))
        print(f"  ready in {seconds[-1]:.1f} s", file=sys.stderr, flush=True)
    print(f"| ComfyUI start to /readyz ({args.workers} CPU workers) | runs {args.runs} | "
          f"median {statistics.median(seconds):.1f} s | min {min(seconds):.1f} s | max {max(seconds):.1f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
