"""ComfyUI v0.33's /api/jobs in process mode (docs/process-mode-design.md 3.2): the front answers it from
its own queues and the histories it harvested from every worker, since each worker only knows the one
prompt it ran. Checked against real workers; the shapes are tested against vectors in tests/front/.
"""
import time

from comfyui_process import http
from conftest import WORKERS
from test_real_comfyui import submit, wait_history
from workflows import blank_image, slow_blurs


def jobs(base: str, **query) -> dict:
    suffix = "&".join(f"{key}={value}" for key, value in query.items())
    status, body = http("GET", f"{base}/api/jobs?{suffix}")
    assert status == 200, body
    return body


def poll(check, what: str, timeout: float = 180.0):
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"{what} not within {timeout:g} s"
        time.sleep(0.2)
    return found


def test_get_api_jobs_through_the_front_lists_the_prompts_of_both_workers(process_front):
    base = process_front[0]
    ids = {submit(base, blank_image(f"jobs{gpu}", color=gpu), gpu=gpu)[1]["prompt_id"]: gpu for gpu in range(WORKERS)}
    for prompt_id in ids:
        assert wait_history(base, prompt_id, timeout=300)["status"]["status_str"] == "success"
    listed = {job["id"]: job for job in jobs(base, status="completed", limit=100)["jobs"]}
    assert set(ids) <= set(listed), listed
    for prompt_id, gpu in ids.items():
        assert listed[prompt_id]["status"] == "completed" and listed[prompt_id]["gpu_id"] == gpu
        assert listed[prompt_id]["outputs_count"] == 1, listed[prompt_id]
    status, one = http("GET", f"{base}/api/jobs/{next(iter(ids))}")
    assert status == 200 and one["status"] == "completed" and "2" in one["outputs"], one


def test_a_pending_job_behind_a_running_one_is_listed_and_cancelled_through_api_jobs(process_front):
    """The worker holds only the running prompt; the pending one waits in the front's queue for GPU 0."""
    base = process_front[0]
    running = submit(base, slow_blurs("jobs-running", blurs=20), gpu=0)[1]["prompt_id"]
    poll(lambda: any(job["id"] == running for job in jobs(base, status="in_progress")["jobs"]),
         f"{running} in progress")
    pending = submit(base, blank_image("jobs-pending"), gpu=0)[1]["prompt_id"]
    listed = {job["id"]: job["status"] for job in jobs(base, status="in_progress,pending")["jobs"]}
    assert listed.get(pending) == "pending" and listed.get(running) == "in_progress", listed
    status, body = http("POST", f"{base}/api/jobs/{pending}/cancel", {})
    assert status == 200 and body["cancelled"] is True, body
    assert http("POST", f"{base}/api/jobs/{running}/cancel", {})[1]["cancelled"] is True
    assert "execution_interrupted" in [event for event, _ in wait_history(base, running, timeout=300)["status"]["messages"]]
    assert pending not in {job["id"] for job in jobs(base, limit=100)["jobs"]}
