"""What a model file costs in RAM when every GPU has its own ComfyUI process (process mode), measured with
the real ComfyUI load_torch_file (docs/process-mode-design.md section 4).

    python rehearsal/process_memory_bench.py --comfyui DIR [--size-gib 1] [--workers 4]
        [--formats safetensors,pt,pt-mmap] [--worker-args "--some-flag ..."]

For each format the parent writes the file, drops it from the page cache (posix_fadvise DONTNEED, no root
needed) and starts `workers` child processes that import comfy.utils with `--cpu` (plus `--mmap-torch-files`
for pt-mmap, plus --worker-args). Once all have imported, it reads each child's /proc/<pid>/smaps_rollup and
the page cache (/proc/meminfo Cached, system-wide: other processes add noise), lets them load the file at
once and keep it (as each GPU's model would while loading), and reads them again; then one child loads it
once more. Sums over the children: Rss counts a shared page once per process, Pss splits it among them,
Anonymous is private copies. Physical memory used ~= Anonymous growth + page-cache growth.
For the thread-mode figures, run weights_cache_bench.py (one process, N threads).
"""
from __future__ import annotations

import argparse
import os
import pathlib
import shlex
import subprocess
import sys
import tempfile
import time
from typing import Dict, List

from weights_cache_bench import IMAGE_DIR, drop_from_page_cache, import_comfy_utils, load_and_touch, write_model

sys.path.insert(0, IMAGE_DIR)
from multigpu.core.worker_memory import parse_smaps_rollup  # noqa: E402 (the front's own reader of these fields)
from multigpu.launch import comfyui_version  # noqa: E402

# format -> (file suffix, ComfyUI flags beyond --cpu)
FORMATS = {"safetensors": (".safetensors", ()), "pt": (".pt", ()), "pt-mmap": (".pt", ("--mmap-torch-files",))}
MARK = "bench:"  # the children's protocol lines; ComfyUI may print other lines to stdout


def child(comfyui: str, path: str, comfy_args: List[str]) -> None:
    """Waits for a line on stdin before each step, so the parent can measure between them."""
    comfy_utils = import_comfy_utils(comfyui, ["--cpu", *comfy_args])
    print(MARK, "imported", flush=True)
    held = []
    for step in ("loaded", "again"):
        sys.stdin.readline()
        started = time.perf_counter()
        held.append(load_and_touch(comfy_utils, path))
        print(MARK, step, f"{time.perf_counter() - started:.3f}", flush=True)
    sys.stdin.readline()


class Child:
    def __init__(self, comfyui: str, path: str, comfy_args: List[str], log: pathlib.Path):
        self.log = log
        with open(log, "w") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, __file__, "--comfyui", comfyui, "--child", path, "--", *comfy_args],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True)

    def expect(self, step: str) -> float:
        for line in self.process.stdout:
            if line.startswith(MARK):
                _, got, *value = line.split()
                if got != step:
                    raise RuntimeError(f"child {self.process.pid} said {got!r}, expected {step!r}")
                return float(value[0]) if value else 0.0
        raise RuntimeError(f"child {self.process.pid} exited with {self.process.wait()} before {step!r}:\n"
                           f"{self.log.read_text()[-3000:]}")

    def go(self) -> None:
        self.process.stdin.write("\n")
        self.process.stdin.flush()

    def rollup(self) -> Dict[str, int]:
        return parse_smaps_rollup(pathlib.Path(f"/proc/{self.process.pid}/smaps_rollup").read_text())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def page_cache_bytes() -> int:
    for line in pathlib.Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("Cached:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no Cached: line in /proc/meminfo")


def measure(comfyui: str, path: str, comfy_args: List[str], workers: int, logs: pathlib.Path) -> dict:
    children = [Child(comfyui, path, comfy_args, logs / f"child{i}.log") for i in range(workers)]
    try:
        for c in children:
            c.expect("imported")
        drop_from_page_cache(path)
        before, cached = [c.rollup() for c in children], page_cache_bytes()
        started = time.perf_counter()
        for c in children:
            c.go()
        for c in children:
            c.expect("loaded")
        wall_s = time.perf_counter() - started
        after, cached_growth = [c.rollup() for c in children], page_cache_bytes() - cached
        children[0].go()
        again_s = children[0].expect("again")
    finally:
        for c in children:
            c.stop()
    growth = {kind: sum(a.get(kind, 0) - b.get(kind, 0) for a, b in zip(after, before)) / 2**30
              for kind in ("rss", "pss", "anon")}
    return dict(growth, wall_s=wall_s, again_s=again_s, page_cache=cached_growth / 2**30,
                physical=growth["anon"] + cached_growth / 2**30)


def print_table(release: str, workers: int, rows: List[dict]) -> None:
    print(f"\n{workers} processes, each load_torch_file on one file at once and keep it; page cache dropped "
          f"first; sums of smaps_rollup growth\n")
    print("| release, file | wall | one more load | Rss sum | Pss sum | Anonymous sum | page cache "
          "| physical ~ anon + cache |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {release}, {row['label']} | {row['wall_s']:.1f} s | {row['again_s']:.2f} s | {row['rss']:.2f} GiB "
              f"| {row['pss']:.2f} GiB | {row['anon']:+.2f} GiB | {row['page_cache']:+.2f} GiB "
              f"| **{row['physical']:.1f} GiB** |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--comfyui", required=True, help="a ComfyUI tree (v0.33 needs its extra packages importable)")
    parser.add_argument("--size-gib", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--formats", default=",".join(FORMATS), help=f"comma-separated, of {', '.join(FORMATS)}")
    parser.add_argument("--worker-args", default="", help="more ComfyUI flags for every child, one string")
    parser.add_argument("--child", metavar="PATH", help=argparse.SUPPRESS)
    parser.add_argument("comfy_args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.comfyui, args.child, args.comfy_args)
        return 0
    formats = [name.strip() for name in args.formats.split(",") if name.strip()]
    unknown = [name for name in formats if name not in FORMATS]
    if unknown or not formats:
        parser.error(f"--formats takes {', '.join(FORMATS)}; got {args.formats!r}")
    if args.workers < 1 or args.size_gib <= 0:
        parser.error(f"--workers must be at least 1 and --size-gib above 0, got {args.workers} and {args.size_gib}")
    release = "v" + comfyui_version(args.comfyui)
    rows = []
    with tempfile.TemporaryDirectory(prefix="process-memory-bench-", dir=os.environ.get("TMPDIR")) as folder:
        for name in formats:
            suffix, flags = FORMATS[name]
            path = os.path.join(folder, "model" + suffix)
            if not os.path.exists(path):
                print(f"writing a {args.size_gib:g} GiB {suffix} file ...", file=sys.stderr, flush=True)
                write_model(path, args.size_gib)
            comfy_args = [*flags, *shlex.split(args.worker_args)]
            print(f"  {name}: {args.workers} {release} processes {' '.join(['--cpu', *comfy_args])} import "
                  f"comfy.utils, load it at once, then one loads it again ...", file=sys.stderr, flush=True)
            row = measure(args.comfyui, path, comfy_args, args.workers, pathlib.Path(folder))
            label = f"`{suffix}`" + (", `--mmap-torch-files`" if "--mmap-torch-files" in comfy_args else "")
            rows.append(dict(row, label=label, size_gib=os.path.getsize(path) / 2**30))
            print(f"    wall {row['wall_s']:.1f} s, Pss sum {row['pss']:.2f} GiB, anon {row['anon']:+.2f} GiB, "
                  f"page cache {row['page_cache']:+.2f} GiB", file=sys.stderr, flush=True)
    print_table(release, args.workers, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
