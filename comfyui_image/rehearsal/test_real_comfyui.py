"""The pinned ComfyUI, started by the image's launcher with its workers on the CPU.

What the simulator and the stub modules cannot show: that main.py runs under the adapter, that
every patch lands on the real modules, and that real nodes (SaveImage's counters, VAELoader's
load_torch_file, the executor's interrupt checks) behave per worker.
"""
import json
import pathlib
import subprocess
import sys
import time

import pytest

from comfyui_process import http
from server_process import metric, wait_history as shared_wait_history
from conftest import WORKERS
from workflows import blank_image, seeded_with_model, slow_blurs, vae_decode
from ws_client import run_on_every_worker

PATCHED_MODULES = ["comfy.model_management", "comfy.utils", "comfy.sample", "folder_paths",
                   "comfy_execution.progress", "comfy_execution.graph_utils", "execution", "server"]


def submit(base, prompt, gpu=None, client_id="rehearsal"):
    headers = {} if gpu is None else {"X-TARGET-GPU": str(gpu)}
    return http("POST", base + "/prompt", {"prompt": prompt, "client_id": client_id}, headers)


def wait_history(base, prompt_id, timeout=120.0):
    """CPU prompts take seconds, not the simulator's milliseconds."""
    return shared_wait_history(base, prompt_id, timeout)


def events(entry):
    return [event for event, _ in entry["status"]["messages"]]


def test_the_launcher_starts_one_worker_per_device_and_patches_every_module(comfyui):
    _, log_path, _ = comfyui
    log = log_path.read_text()
    assert f"Multi-GPU mode ENABLED with {WORKERS} GPUs" in log
    assert f"Created {WORKERS} task queues" in log
    for gpu in range(WORKERS):
        assert f"Started worker thread for GPU {gpu}" in log
        assert f"GPU {gpu} warmed up and ready" in log
    for module in PATCHED_MODULES:
        assert f"Patched {module}:" in log
    assert "Custom-node device scan:\n1 custom nodes scanned" in log  # the base directory's pack
    assert "Failed to initialize database" not in log


def test_the_stock_api_still_answers(comfyui):
    base, _, _ = comfyui
    assert http("GET", base + "/object_info/SaveImage")[0] == 200
    status, stats = http("GET", base + "/system_stats")
    assert status == 200 and [d["gpu_id"] for d in stats["devices"]] == list(range(WORKERS)), stats
    assert http("GET", base + "/readyz")[1] == {"ready": True, "reason": f"{WORKERS} GPUs ready"}


def test_an_ordinary_node_pack_loads_and_its_node_runs_on_a_worker(comfyui):
    base, _, _ = comfyui
    assert http("GET", base + "/rehearsal_pack/ping") == (200, {"device": "cpu"})
    prompt = blank_image("pack")
    prompt["3"] = {"class_type": "RehearsalPassImage", "inputs": {"image": ["1", 0]}}
    prompt["2"]["inputs"]["images"] = ["3", 0]
    entry = wait_history(base, submit(base, prompt, gpu=WORKERS - 1)[1]["prompt_id"])
    assert entry["status"]["status_str"] == "success" and entry["gpu_id"] == WORKERS - 1


def test_the_header_pins_the_worker_and_a_bad_header_is_refused(comfyui):
    base, _, _ = comfyui
    for gpu in range(WORKERS):
        status, body = submit(base, blank_image("pinned"), gpu=gpu)
        assert status == 200 and body["gpu_id"] == gpu, body
        entry = wait_history(base, body["prompt_id"])
        assert entry["gpu_id"] == gpu and entry["status"]["status_str"] == "success"
    status, body = submit(base, blank_image("bad"), gpu=WORKERS)
    assert status == 400 and body["error"]["header"] == "X-TARGET-GPU"


def test_workers_saving_with_one_prefix_at_once_never_share_a_file(comfyui):
    base, _, base_dir = comfyui
    ids = [submit(base, blank_image("race", color=i), gpu=i % WORKERS)[1]["prompt_id"] for i in range(4 * WORKERS)]
    names = []
    for prompt_id in ids:
        entry = wait_history(base, prompt_id)
        names += [image["filename"] for output in entry["outputs"].values() for image in output["images"]]
    assert len(names) == len(set(names)) == 4 * WORKERS
    assert sorted(p.name for p in (base_dir / "output").glob("race_*.png")) == sorted(names)


def test_a_safetensors_file_is_left_to_mmap_by_every_worker(comfyui):
    """.safetensors files already share one page-cache copy through mmap, so the weights cache
    leaves them alone (comfy_adapter/weights_cache.py) and counts them as mmap loads."""
    base, log_path, _ = comfyui
    series = ("disk_reads", "ram_hits", "mmap_loads")
    reads, hits, mmaps = (metric(base, f"comfyui_weights_cache_{n}_total") for n in series)
    ids = [submit(base, vae_decode(f"vae{gpu}"), gpu=gpu)[1]["prompt_id"] for gpu in range(WORKERS)]
    for prompt_id in ids:
        assert wait_history(base, prompt_id)["status"]["status_str"] == "success"
    assert metric(base, "comfyui_weights_cache_disk_reads_total") - reads == 0
    assert metric(base, "comfyui_weights_cache_ram_hits_total") - hits == 0
    assert metric(base, "comfyui_weights_cache_mmap_loads_total") - mmaps == WORKERS
    assert "into the shared weights cache" not in log_path.read_text()


def test_interrupting_one_prompt_leaves_the_other_worker_running(comfyui):
    base, _, _ = comfyui
    victim = submit(base, slow_blurs("victim"), gpu=0)[1]["prompt_id"]
    survivor = submit(base, slow_blurs("survivor", color=2), gpu=1)[1]["prompt_id"]
    time.sleep(2.0)
    assert http("POST", base + "/interrupt", {"prompt_id": victim})[0] == 200
    stopped, finished = wait_history(base, victim), wait_history(base, survivor)
    assert "execution_interrupted" in events(stopped)
    assert finished["status"]["status_str"] == "success" and "execution_interrupted" not in events(finished)


def test_each_websocket_client_gets_only_its_own_prompts_messages(comfyui):
    base, _, _ = comfyui
    watched = ("executing", "executed", "execution_start", "execution_success", "progress_state")
    for prompt_id, messages in run_on_every_worker(
            base, lambda gpu: slow_blurs(f"ws{gpu}", blurs=1, color=gpu), WORKERS):
        seen = [pid for kind, pid in messages if kind in watched]
        assert seen and set(seen) == {prompt_id}


def test_metrics_count_prompts_per_worker(comfyui):
    base, _, _ = comfyui
    text = http("GET", base + "/metrics")[1].decode()
    for gpu in range(WORKERS):
        assert f'comfyui_gpu_worker_ready{{gpu="{gpu}"}} 1.0' in text
    assert metric(base, "process_resident_memory_bytes") > 0


REPO_DIR = pathlib.Path(__file__).resolve().parents[2]
PROBE = REPO_DIR / "manifests" / "base" / "pod-scripts" / "comfyui_probe.py"


def comfyctl(*args, timeout=180):
    """Run the repository's comfyctl (TypeScript, through tsx) as a user would."""
    if not (REPO_DIR / "node_modules" / ".bin" / "tsx").exists():
        pytest.skip("node_modules missing: run `npm ci` in the repository to include comfyctl")
    return subprocess.run(["npx", "--no-install", "tsx", "bin/comfyctl.ts", *args], cwd=REPO_DIR,
                          capture_output=True, text=True, timeout=timeout)


def test_comfyctl_invoke_runs_a_workflow_pinned_to_a_worker_and_downloads_its_output(comfyui, tmp_path):
    base, _, _ = comfyui
    workflow = tmp_path / "vae.json"
    workflow.write_text(json.dumps(vae_decode("comfyctl")))
    out = tmp_path / "out"
    result = comfyctl("invoke", "--url", base, "--gpu", str(WORKERS - 1), "--set", "EmptyLatentImage.width=128",
                      "--out", str(out), "--json", "--quiet", str(workflow))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    files = list(out.rglob("*.png"))
    assert len(files) == 1 and files[0].read_bytes().startswith(b"\x89PNG")
    assert wait_history(base, summary["promptId"])["gpu_id"] == WORKERS - 1


def test_comfyctl_verify_passes_every_check_but_throughput_on_real_comfyui(comfyui, tmp_path):
    """Throughput is skipped: workers sharing two CPU cores cannot show a multi-GPU speedup."""
    base, _, _ = comfyui
    workflow = tmp_path / "seeded.json"
    workflow.write_text(json.dumps(seeded_with_model("verify")))
    result = comfyctl("verify", "--url", base, "--gpus", str(WORKERS), "--workflow", str(workflow),
                      "--skip", "throughput", "--json", timeout=600)
    report = json.loads(result.stdout)
    statuses = {check["name"]: check["status"] for check in report["checks"]}
    assert result.returncode == 0, (statuses, [c.get("detail") for c in report["checks"]])
    assert statuses == {"workers": "PASS", "bad-header": "PASS", "header-routing": "PASS",
                        "queue-isolation": "PASS", "parallelism": "PASS", "ram-sharing": "PASS",
                        "throughput": "SKIP"}


def test_the_pods_probes_pass_after_every_prompt_above(comfyui):
    """The patch guard and the breaker answer /readyz and /healthz, which the pod's probes read: a
    false alarm there keeps every pod out of the Service (or restarts it) on the first deploy."""
    base, _, base_dir = comfyui
    assert http("GET", base + "/readyz") == (200, {"ready": True, "reason": f"{WORKERS} GPUs ready"})
    assert http("GET", base + "/healthz")[0] == 200
    assert [q["state"] for q in http("GET", base + "/queue/all")[1]["queues"]] == ["in_service"] * WORKERS
    for check in ("startup", "ready", "alive"):
        result = subprocess.run([sys.executable, str(PROBE), check, "--url", base, "--timeout=3",
                                 "--ready-marker", str(base_dir / "ready")],
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, (check, result.stdout, result.stderr)
