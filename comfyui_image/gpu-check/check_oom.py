"""Out-of-memory retry end to end (issue 22, "On a GPU"): the real ComfyUI started by the image's
launcher on every visible GPU, with a test node that asks for twice the GPU's memory. Expected:
the worker retries once (comfyui_gpu_oom_total grows by 2 on that GPU), the client sees one
execution_error, a normal prompt on the same GPU then succeeds and /readyz stays ready."""
from __future__ import annotations

import pathlib
import shutil
import sys
import tempfile
import time
from typing import Dict

from stats import line

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "rehearsal"))


def run(*, comfyui_dir: str, gpus: int, timeout_s: float = 300.0) -> Dict[str, object]:
    from comfyui_process import http, running_comfyui

    base_dir = pathlib.Path(tempfile.mkdtemp(prefix="gpu-check-"))
    try:
        (base_dir / "custom_nodes").mkdir(parents=True)
        shutil.copy(HERE / "gpu_check_nodes.py", base_dir / "custom_nodes" / "gpu_check_nodes.py")
        with running_comfyui(comfyui_dir, base_dir, gpus, device="cuda") as (base, _log):
            gpu = gpus - 1
            ooms_before = _oom_count(http, base, gpu)
            started = time.perf_counter()
            failed = _run_prompt(http, base, "GpuCheckOverAllocate", gpu, timeout_s)
            oom_seconds = time.perf_counter() - started
            followed = _run_prompt(http, base, "GpuCheckMatmul", gpu, timeout_s)
            figures = {
                "gpu": gpu, "oom_status": failed["status"]["status_str"],
                "execution_errors": _count(failed, "execution_error"),
                "oom_count_delta": _oom_count(http, base, gpu) - ooms_before,
                "oom_seconds": round(oom_seconds, 2),
                "next_prompt": followed["status"]["status_str"],
                "next_device": _ui_device(followed),
                "readyz": http("GET", base + "/readyz")[0],
            }
    finally:
        shutil.rmtree(base_dir, ignore_errors=True)
    print(line("oom_retry", **figures))
    return figures


def _run_prompt(http, base, node: str, gpu: int, timeout_s: float) -> dict:
    prompt = {"1": {"class_type": node, "inputs": {"seed": int(time.time() * 1000) % 100000}}}
    status, body = http("POST", base + "/prompt", {"prompt": prompt, "client_id": "gpu-check"},
                        {"X-TARGET-GPU": str(gpu)})
    if status != 200:
        raise RuntimeError(f"POST /prompt answered {status}: {body}")
    prompt_id = body["prompt_id"]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        history = http("GET", f"{base}/history/{prompt_id}")[1]
        if history.get(prompt_id, {}).get("status", {}).get("completed") is not None:
            return history[prompt_id]
        time.sleep(0.2)
    raise TimeoutError(f"prompt {prompt_id} ({node}) did not finish in {timeout_s:.0f} s")


def _count(entry: dict, event: str) -> int:
    return sum(1 for name, _ in entry["status"].get("messages", []) if name == event)


def _ui_device(entry: dict) -> str:
    for output in entry.get("outputs", {}).values():
        if output.get("device"):
            return output["device"][0]
    return "?"


def _oom_count(http, base: str, gpu: int) -> float:
    text = http("GET", base + "/metrics")[1].decode()
    for row in text.splitlines():
        if row.startswith("comfyui_gpu_oom_total{") and f'gpu="{gpu}"' in row:
            return float(row.split()[-1])
    return 0.0
