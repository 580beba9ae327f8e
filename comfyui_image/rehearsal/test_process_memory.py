"""Process mode's memory claim (docs/process-mode-design.md section 4) on real workers: a model file every
worker loads with ComfyUI's load_torch_file is one copy in RAM, as the front's per-worker series
comfyui_worker_memory_bytes{gpu,kind} show it (what `comfyctl verify`'s ram-sharing check reads).

A rehearsal node (hold_file_pack.py) loads the file and keeps it: on the CPU, stock loaders copy weights
into a private model, so a stock workflow would show that copy instead.
"""
import pathlib
import re
from typing import Dict, Tuple

import pytest

from comfyui_process import http
from conftest import WORKERS
from hold_file_pack import hold_model_file
from test_real_comfyui import submit, wait_history
from weights_cache_bench import write_model
from workflows import blank_image

FILE_GIB = 0.25  # well above what a prompt allocates besides the file, small for a 2-core runner
SERIES = re.compile(r'^comfyui_worker_memory_bytes\{gpu="(\d+)",kind="(\w+)"\} (\S+)$', re.M)


def worker_memory(base: str) -> Dict[Tuple[int, str], float]:
    """{(gpu, kind): bytes} from the front's /metrics."""
    text = http("GET", base + "/metrics")[1].decode()
    return {(int(gpu), kind): float(value) for gpu, kind, value in SERIES.findall(text)}


def run_on_every_worker(base: str, prompt: dict) -> None:
    ids = [submit(base, prompt, gpu=gpu)[1]["prompt_id"] for gpu in range(WORKERS)]
    for prompt_id in ids:
        entry = wait_history(base, prompt_id, timeout=300)
        assert entry["status"]["status_str"] == "success", entry["status"]


@pytest.fixture(scope="module")
def warmed_front(process_front):
    """Every worker has run a prompt, so the first prompt's own allocations are not counted below."""
    run_on_every_worker(process_front[0], blank_image("memory-warmup"))
    return process_front


# .pt: the launcher passes --mmap-torch-files to every worker unless COMFY_WORKER_MMAP_TORCH_FILES=0.
@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_a_model_file_loaded_by_every_worker_is_counted_once(warmed_front, suffix):
    base, _, base_dir, _ = warmed_front
    path = pathlib.Path(base_dir, "models", "checkpoints", f"held{suffix}")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_model(str(path), FILE_GIB)
    size = path.stat().st_size
    before = worker_memory(base)
    assert {kind for _, kind in before} >= {"rss", "pss", "anon"}, before
    run_on_every_worker(base, hold_model_file(path))
    after = worker_memory(base)

    def growth(kind: str) -> float:
        return sum(after[gpu, kind] - before[gpu, kind] for gpu in range(WORKERS)) / size

    figures = {kind: round(growth(kind), 2) for kind in ("rss", "pss", "anon")}  # in file sizes
    print(f"{suffix}, {size / 2**20:.0f} MiB, growth summed over {WORKERS} workers in file sizes: {figures}")
    # Every worker maps every page (Rss counts the file once per worker), the kernel splits the shared
    # pages among them (Pss: one file in all), and nobody made a private copy (a copy per worker: anon
    # grows by WORKERS files, as `.pt` does with COMFY_WORKER_MMAP_TORCH_FILES=0).
    assert figures["rss"] >= 0.9 * WORKERS, figures
    assert 0.8 <= figures["pss"] <= 1.4, figures
    assert figures["anon"] <= 0.4, figures
