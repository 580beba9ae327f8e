"""What the shared weights cache saves, measured with the real ComfyUI load_torch_file and torch.

    python rehearsal/weights_cache_bench.py --comfyui DIR [--size-gib 2] [--workers 4]

For each file format (.safetensors, .pt) and mode (stock ComfyUI, then the adapter's cache) a
fresh child process drops the model file from the page cache (posix_fadvise DONTNEED, no root
needed), then `workers` threads call load_torch_file on it at once and keep the result (as each
GPU's model would while loading), then one more call follows. The child reports wall times and
memory growth: RssAnon (private copies of weights), RssFile (file pages mapped by the process;
counted once per mapping, so it overstates shared pages) and the page cache (/proc/meminfo
Cached, system-wide: other processes add noise). Physical memory used ~= RssAnon + page cache.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

IMAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def memory_kib() -> dict:
    values = {}
    for source, keys in (("/proc/self/status", ("RssAnon", "RssFile")), ("/proc/meminfo", ("Cached",))):
        with open(source) as lines:
            for line in lines:
                key, _, rest = line.partition(":")
                if key in keys:
                    values[key] = int(rest.split()[0])
    return values


def drop_from_page_cache(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def import_comfy_utils(comfyui: str, comfy_args=("--cpu",)):
    """ComfyUI's comfy.utils as main.py would set it up: its imports parse sys.argv for the flags."""
    sys.path.insert(0, comfyui)
    sys.argv = [sys.argv[0], *comfy_args]
    import comfy.options
    comfy.options.enable_args_parsing()
    import comfy.utils
    return comfy.utils


def load_and_touch(comfy_utils, path: str) -> dict:
    """load_torch_file, then every tensor read as a loader copying it to the GPU would, so mapped pages are read."""
    state = comfy_utils.load_torch_file(path)
    for tensor in state.values():
        tensor.sum()
    return state


def child(comfyui: str, path: str, mode: str, workers: int) -> dict:
    import threading

    comfy_utils = import_comfy_utils(comfyui)
    sys.path.insert(0, IMAGE_DIR)

    if mode == "cached":
        from multigpu.comfy_adapter.weights_cache import new_weights_cache, patch_load_torch_file
        patch_load_torch_file(comfy_utils, new_weights_cache(64 * 2**30))
    drop_from_page_cache(path)
    held = []  # what each worker's model would keep while it is loaded
    before = memory_kib()
    started = time.perf_counter()
    barrier = threading.Barrier(workers)

    def load():
        barrier.wait()
        held.append(load_and_touch(comfy_utils, path))

    threads = [threading.Thread(target=load) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    concurrent_s = time.perf_counter() - started
    after = memory_kib()
    started = time.perf_counter()
    extra = load_and_touch(comfy_utils, path)
    again_s = time.perf_counter() - started
    return {"mode": mode, "concurrent_s": concurrent_s, "again_s": again_s,
            "anon_gib": (after["RssAnon"] - before["RssAnon"]) / 2**20,
            "file_gib": (after["RssFile"] - before["RssFile"]) / 2**20,
            "cached_gib": (after["Cached"] - before["Cached"]) / 2**20}


def write_model(path: str, size_gib: float) -> None:
    import torch
    import safetensors.torch

    tensor_bytes = 64 * 2**20
    count = max(1, int(size_gib * 2**30 / tensor_bytes))
    generator = torch.Generator().manual_seed(0)
    state = {f"layer{i}.weight": torch.randn(tensor_bytes // 2, generator=generator).to(torch.float16)
             for i in range(count)}
    if path.endswith(".safetensors"):
        safetensors.torch.save_file(state, path)
    else:
        torch.save(state, path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--comfyui", required=True, help="ComfyUI checkout at the pinned release")
    parser.add_argument("--size-gib", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.comfyui, args.child[1], args.child[0], args.workers)))
        return 0
    rows = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as folder:
        for suffix in (".safetensors", ".pt"):
            path = os.path.join(folder, "model" + suffix)
            print(f"writing a {args.size_gib:g} GiB {suffix} file ...", flush=True)
            write_model(path, args.size_gib)
            for mode in ("stock", "cached"):
                print(f"  {mode}: {args.workers} workers load it at once, then one more load ...", flush=True)
                output = subprocess.run([sys.executable, __file__, "--comfyui", args.comfyui, "--workers",
                                         str(args.workers), "--child", mode, path],
                                        check=True, capture_output=True, text=True).stdout
                rows.append(dict(json.loads(output.strip().splitlines()[-1]), suffix=suffix,
                                 size_gib=os.path.getsize(path) / 2**30))
            os.remove(path)
    print(f"\n{args.workers} workers, page cache dropped before each run\n")
    print("| file | load_torch_file | workers at once | one more load | private RAM (RssAnon) "
          "| page cache | mapped (RssFile) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(f"| {row['size_gib']:.2f} GiB {row['suffix']} | {row['mode']} | {row['concurrent_s']:.2f} s "
              f"| {row['again_s']:.3f} s | +{row['anon_gib']:.2f} GiB | +{row['cached_gib']:.2f} GiB "
              f"| +{row['file_gib']:.2f} GiB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
