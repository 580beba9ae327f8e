"""/api/jobs answered by the front from its own queues and history (the workers keep neither), in
v0.33's shapes; cancel interrupts a running prompt and dequeues a pending one. Against simulated
stock workers whose sampler runs for 10 minutes unless cancelled, so what runs and what waits
does not depend on timing; a prompt without a sampler ends at once."""
import uuid

import pytest

from server_process import http_json, wait_history
from sim_process import workflow
# One front per module over two workers whose sampler runs for 10 minutes (test_proxy_routes.py).
from test_proxy_routes import front  # noqa: F401 (a fixture)
from test_remote_executor_on_sim_workers import wait_until


def submit(base, gpu, prompt, **body):
    status, answer = http_json("POST", base + "/prompt", dict(body, prompt=prompt), {"X-TARGET-GPU": str(gpu)})
    assert status == 200, answer
    return answer["prompt_id"]


def instant(**kw):
    """A checkpoint straight into SaveImage: no sampler, so it ends at once."""
    prompt = workflow(**kw)
    del prompt["3"]
    prompt["9"]["inputs"]["images"] = ["4", 0]
    return prompt


def jobs(base, query=""):
    status, body = http_json("GET", f"{base}/api/jobs{query}")
    assert status == 200, body
    return body["jobs"]


def job(base, prompt_id):
    return http_json("GET", f"{base}/api/jobs/{prompt_id}")


def test_running_and_pending_prompts_are_listed_and_cancel_interrupts_or_dequeues_them(front):
    base, _ = front
    first, second, third = (submit(base, 0, workflow(seed=s), client_id="alice") for s in (1, 2, 3))
    wait_until(lambda: [j["id"] for j in jobs(base, "?status=in_progress")] == [first], "the first prompt running", timeout=60)
    pending = jobs(base, "?status=pending")
    assert {j["id"] for j in pending} == {second, third}
    assert all(j["gpu_id"] == 0 and j["outputs_count"] == 0 for j in pending)
    assert job(base, second)[1]["status"] == "pending"

    assert http_json("POST", f"{base}/api/jobs/{second}/cancel")[1] == {"cancelled": True}
    assert job(base, second) == (404, {"error": "Job not found"})  # dequeued before it ran: no history
    unknown = str(uuid.uuid4())
    assert http_json("POST", base + "/api/jobs/cancel", {"job_ids": [first, unknown]}) == (200, {"cancelled": True})
    wait_until(lambda: job(base, first)[1]["status"] == "cancelled", "the first prompt cancelled", timeout=60)
    assert http_json("POST", f"{base}/api/jobs/{first}/cancel")[1] == {"cancelled": False}  # finished: a no-op

    wait_until(lambda: job(base, third)[1]["status"] == "in_progress", "the third prompt running", timeout=60)
    assert http_json("POST", f"{base}/api/jobs/{third}/cancel")[1] == {"cancelled": True}
    entry = wait_history(base, third, timeout=60)
    assert "execution_interrupted" in [m[0] for m in entry["status"]["messages"]]


def test_finished_jobs_come_from_the_fronts_history_with_their_outputs_and_workflow(front):
    base, workers = front
    failed = submit(base, 1, instant(gpu_fault=True))
    done = submit(base, 1, instant(prefix="jobs/done"), extra_data={"extra_pnginfo": {"workflow": {"id": "wf-1"}}})
    for prompt_id in (failed, done):
        wait_history(base, prompt_id, timeout=60)
    # The worker ran it and its own history was harvested: only the front can answer.
    assert http_json("GET", workers[1] + "/history/" + done)[1] == {}

    status, detail = job(base, done)
    assert status == 200 and detail["status"] == "completed" and detail["gpu_id"] == 1
    assert detail["outputs_count"] == 1 and detail["previewable_outputs_count"] == 1
    preview = detail["preview_output"]
    assert (preview["type"], preview["subfolder"], preview["nodeId"], preview["mediaType"]) == (
        "output", "jobs", "9", "images")
    assert detail["outputs"]["9"]["images"][0]["filename"] == preview["filename"]
    assert detail["workflow"]["extra_data"]["extra_pnginfo"] == {"workflow": {"id": "wf-1"}}
    assert detail["execution_start_time"] <= detail["execution_end_time"]
    assert [j["id"] for j in jobs(base, "?workflow_id=wf-1")] == [done]

    status, broken = job(base, failed)
    assert status == 200 and broken["status"] == "failed"
    assert broken["execution_error"]["exception_type"] == "torch.AcceleratorError"

    status, page = http_json("GET", base + "/api/jobs?status=completed,failed&limit=1")
    assert status == 200 and len(page["jobs"]) == 1
    assert page["pagination"]["limit"] == 1 and page["pagination"]["total"] >= 2 and page["pagination"]["has_more"]


@pytest.mark.parametrize("method, path, body, answer", [
    ("GET", "/api/jobs?limit=0", None, {"error": "limit must be a positive integer"}),
    ("GET", "/api/jobs?status=done", None,
     {"error": "Invalid status value(s): done. Valid values: pending, in_progress, completed, failed, cancelled"}),
    ("POST", "/api/jobs/cancel", {"job_ids": "all"}, {"error": "job_ids must be a list"}),
    ("POST", "/api/jobs/cancel", {"job_ids": ["job-1", 7]},
     {"error": "job_ids contains invalid id(s)", "invalid_ids": ["job-1", "7"]}),
])
def test_bad_requests_get_stocks_400_bodies(front, method, path, body, answer):
    base, _ = front
    assert http_json(method, base + path, body) == (400, answer)
