"""Process mode (COMFY_MULTI_GPU_EXECUTOR=process) on the CPU: the image's launcher starts our front
with one stock ComfyUI per worker (docs/process-mode-design.md 3.1, 5.2); prompts go through the
front's POST /prompt and WebSocket. Runs with the rest of the rehearsal (rehearsal/run.sh), or alone:

    cd comfyui_image && COMFYUI_DIR=<ComfyUI> <its python> -m pytest -p no:cacheprovider \\
        --rootdir rehearsal -c /dev/null rehearsal/test_process_mode.py
"""
import json
import os
import re
import signal
import time

import pytest

from comfyui_process import http
from conftest import WORKERS
from test_real_comfyui import submit, wait_history
from workflows import blank_image, slow_blurs
from ws_client import run_on_every_worker


@pytest.fixture(scope="module")
def front(process_front):
    """conftest.py's process_front: (base URL, log path, base directory, first worker port)."""
    return process_front


def test_the_launcher_starts_one_stock_comfyui_per_worker_with_its_own_port_temp_and_database(front):
    base, log_path, base_dir, base_port = front
    log = log_path.read_text()
    for gpu in range(WORKERS):
        assert f"GPU {gpu}: started its ComfyUI" in log
        assert f"GPU {gpu}: connected to its ComfyUI at http://127.0.0.1:{base_port + gpu}" in log
        assert (base_dir / "temp" / f"gpu{gpu}" / "comfyui.db").is_file()
        status, stats = http("GET", f"http://127.0.0.1:{base_port + gpu}/system_stats")
        argv = stats["system"]["argv"]
        assert status == 200 and "--cpu" in argv and "--mmap-torch-files" in argv
    status, merged = http("GET", base + "/system_stats")
    assert status == 200 and [d["index"] for d in merged["devices"]] == list(range(WORKERS))


def test_a_prompt_runs_through_the_front_on_each_worker_and_its_client_sees_it_end(front):
    base, _, base_dir, _ = front
    results = run_on_every_worker(base, lambda gpu: blank_image(f"process{gpu}"), WORKERS)
    for gpu, (prompt_id, seen) in enumerate(results):
        assert ("execution_success", prompt_id) in seen
        assert {pid for _, pid in seen if pid is not None} == {prompt_id}
        entry = wait_history(base, prompt_id)
        assert entry["status"]["status_str"] == "success"
        assert entry["outputs"]["2"]["images"] == [{"filename": f"process{gpu}_00001_.png", "subfolder": "",
                                                    "type": "output"}]
        assert (base_dir / "output" / f"process{gpu}_00001_.png").is_file()


def test_a_prompt_with_an_unknown_node_is_refused_by_the_workers_stock_validation(front):
    base = front[0]
    status, body = submit(base, {"1": {"class_type": "NoSuchNode", "inputs": {}}})
    assert status == 400
    # v0.8 says invalid_prompt, v0.33 missing_node_type (execution.py validate_prompt)
    assert body["error"]["type"] in ("invalid_prompt", "missing_node_type") and "NoSuchNode" in body["error"]["message"]


def test_the_front_is_not_ready_while_the_model_sync_marker_is_missing(front):
    base, _, base_dir, _ = front
    marker = base_dir / "ready"
    marker.unlink()
    try:
        status, body = http("GET", base + "/readyz")
        assert status == 503 and "models not synced yet" in json.dumps(body)
    finally:
        marker.write_text("")
    assert http("GET", base + "/readyz")[0] == 200


def noisy_image(prefix: str, seed: int, size: int = 768) -> dict:
    """Noise encodes slowly to PNG: a wide gap between stock ComfyUI's listing of the folder for the
    next counter and the file appearing, in which another worker's listing picks the same counter."""
    prompt = blank_image(prefix, color=seed, size=size)
    prompt["3"] = {"class_type": "ImageAddNoise", "inputs": {"image": ["1", 0], "seed": seed, "strength": 1.0}}
    prompt["2"]["inputs"]["images"] = ["3", 0]
    return prompt


def test_workers_saving_with_one_prefix_at_once_never_share_a_file(front):
    """The save-counter lock (docs/process-mode-design.md 3.7). Without it (COMFY_WORKER_SAVE_LOCK=0 in
    this run's environment) 8 saves took 6 names here; the log checks show the lock was in use."""
    base, log_path, base_dir, _ = front
    ids = [submit(base, noisy_image("race", seed=i), gpu=i % WORKERS)[1]["prompt_id"] for i in range(4 * WORKERS)]
    names = [image["filename"] for prompt_id in ids
             for output in wait_history(base, prompt_id)["outputs"].values() for image in output["images"]]
    assert len(names) == len(set(names)) == 4 * WORKERS, sorted(names)
    assert sorted(p.name for p in (base_dir / "output").glob("race_*.png")) == sorted(names)
    log = log_path.read_text()
    for gpu in range(WORKERS):
        assert f"GPU {gpu}: output file names are locked through the front at http://127.0.0.1:" in log
    assert "no save lock on" not in log


def poll(check, what, timeout=180.0):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} not within {timeout:g} s"
        time.sleep(0.2)


def test_a_killed_worker_fails_its_prompt_naming_the_signal_and_comes_back(front, comfyui_version):
    base, log_path, _, _ = front
    pid = int(re.findall(r"GPU 1: started its ComfyUI, pid (\d+)", log_path.read_text())[-1])
    taken = log_path.read_text().count("[gpu 1] got prompt")
    status, body = submit(base, slow_blurs("victim", blurs=20), gpu=1)
    assert status == 200, body
    poll(lambda: log_path.read_text().count("[gpu 1] got prompt") > taken, "worker 1 taking the prompt")
    os.kill(pid, signal.SIGKILL)
    entry = wait_history(base, body["prompt_id"])
    errors = [data for kind, data in entry["status"]["messages"] if kind == "execution_error"]
    assert entry["status"]["status_str"] == "error"
    assert [e["exception_message"] for e in errors] == ["ComfyUI for GPU 1 exited with signal 9 (SIGKILL: out of memory?)"]
    # The supervisor starts a new worker; once it answers, the breaker's probe returns the GPU.
    poll(lambda: http("GET", base + "/queue/all")[1]["queues"][1]["state"] == "in_service", "GPU 1 back in service")
    assert len(re.findall(r"GPU 1: started its ComfyUI", log_path.read_text())) == 2
    status, body = submit(base, blank_image("comeback"), gpu=1)
    assert status == 200 and wait_history(base, body["prompt_id"])["status"]["status_str"] == "success"
    metrics = http("GET", base + "/metrics")[1].decode()
    assert 'comfyui_worker_restarts_total{gpu="1",reason="signal_9"} 1.0' in metrics
    assert f'comfyui_executor_info{{comfyui_version="{comfyui_version}",mode="process"}} 1.0' in metrics
