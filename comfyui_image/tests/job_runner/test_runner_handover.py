"""A job outlives its runner or its pod: adopted after SIGKILL, released on SIGTERM, handed back when its
pod vanishes, and a queued prompt found on takeover is adopted and can be cancelled."""
import signal
import time
import uuid

from multigpu.sim.workflow import sim_workflow
from jobs import finished, history, queue_all
from processes import http_json, runner, simulator, wait_for

FOREVER_MS = 600_000


def queue_behind_an_artist(base: str) -> str:
    """An artist's endless prompt holds GPU 0 and a dead runner's prompt waits behind it; GPU 1 stays idle,
    so a runner receives (it receives only while some GPU is idle). Returns the waiting prompt's id."""
    gpu0 = {"X-TARGET-GPU": "0"}
    http_json("POST", base + "/prompt", {"prompt": sim_workflow(seed=1), "client_id": "artist"}, gpu0)
    queued = str(uuid.uuid4())
    assert http_json("POST", base + "/prompt", {"prompt": sim_workflow(seed=2), "prompt_id": queued,
                                                "client_id": "dead-runner"}, gpu0)[0] == 200
    return queued


def orphaned_job(backend, prompt_id: str, attempt: int) -> str:
    """A job its runner died holding: in_progress, lease lapsed, worker naming `prompt_id` on GPU 0."""
    job_id = backend.put_job(sim_workflow(seed=2), send=False)
    backend.update(job_id, "SET #s = :p, attempt = :a, worker = :w, lease_until = :l", {
        ":p": {"S": "in_progress"}, ":a": {"N": str(attempt)}, ":l": {"N": "0"},
        ":w": {"M": {"pod": {"S": "pod-a"}, "gpu": {"N": "0"}, "prompt_id": {"S": prompt_id}}}},
        {"#s": "status"})
    backend.send(job_id)
    return job_id


def test_a_runner_killed_mid_job_is_replaced_by_one_that_adopts_the_prompt_and_completes_it_once(backend, tmp_path):
    with simulator(tmp_path, gpus=1, exec_ms=3000) as (base, _, _):
        job_id = backend.put_job(sim_workflow(seed=3))
        with runner(tmp_path, backend.runner_env(), [f"pod-a={base}"], name="runner-a") as first:
            wait_for(lambda: queue_all(base)["total_running"] == 1, "the prompt running", 90)
            prompt_id = backend.job(job_id)["worker"]["prompt_id"]
            first.kill(signal.SIGKILL)
            first.process.wait(30)
        with runner(tmp_path, backend.runner_env(), [f"pod-a={base}"], name="runner-b") as second:
            job = wait_for(lambda: finished(backend, job_id), "the job to end", 120)
            wait_for(lambda: second.events("job_finished"), "the completion's log line", 30)
            [taken] = second.events("job_taken_over")
        assert job["status"] == "completed" and job["attempt"] == 2
        assert taken["adopted"] is True and job["worker"]["prompt_id"] == prompt_id
        assert list(history(base)) == [prompt_id]  # ran once, on the GPU it started on
        assert backend.object(job["outputs"][0]["key"])["Body"].read().startswith(b"\x89PNG")
        assert len(first.events("job_finished")) + len(second.events("job_finished")) == 1


def test_sigterm_releases_the_lease_and_the_message_and_the_prompt_keeps_running(backend, tmp_path):
    # Two GPUs: a runner receives only while some GPU is idle, and the job's own GPU stays busy.
    with simulator(tmp_path, gpus=2, exec_ms=FOREVER_MS) as (base, _, _):
        job_id = backend.put_job(sim_workflow())
        with runner(tmp_path, backend.runner_env(), [f"pod-a={base}"], name="runner-a") as first:
            wait_for(lambda: queue_all(base)["total_running"] == 1, "the prompt running", 90)
            first.kill(signal.SIGTERM)
            assert first.process.wait(60) == 0
        job = backend.job(job_id)
        assert job["status"] == "in_progress" and job["lease_until"] <= time.time() * 1000
        assert first.events("job_released")[0]["job_id"] == job_id
        assert queue_all(base)["total_running"] == 1
        sqs = backend.client("sqs")
        [message] = wait_for(lambda: sqs.receive_message(QueueUrl=backend.queue_url, VisibilityTimeout=0,
                                                         WaitTimeSeconds=1).get("Messages"),
                             "the message visible again", 30)
        with runner(tmp_path, backend.runner_env(), [f"pod-a={base}"], name="runner-b") as second:
            wait_for(lambda: second.events("job_taken_over"), "the next runner to take over", 90)
            assert second.events("job_taken_over")[0]["adopted"] is True
            assert queue_all(base)["total_running"] == 1  # adopted, not submitted again
            backend.request_cancel(job_id)
            job = wait_for(lambda: finished(backend, job_id), "the job to end", 90)
        assert job["status"] == "cancelled" and job["attempt"] == 2


def test_a_pod_that_vanishes_mid_job_hands_the_job_back(backend, tmp_path):
    with simulator(tmp_path, gpus=1, exec_ms=FOREVER_MS) as (base, sim, _):
        job_id = backend.put_job(sim_workflow())
        with runner(tmp_path, backend.runner_env(), [f"pod-a={base}"]) as proc:
            wait_for(lambda: queue_all(base)["total_running"] == 1, "the prompt running", 90)
            for child in __import__("processes")._children(sim.pid) or [sim.pid]:
                __import__("os").kill(child, signal.SIGKILL)
            # The log line follows the update: wait on it, then read the item.
            [handed] = wait_for(lambda: proc.events("job_handed_back"), "the job handed back", 90)
            assert handed["reason"] == "pod_gone"
    job = backend.job(job_id)
    assert job["status"] == "pending" and job["attempt"] == 1 and "worker" not in job and "lease_until" not in job


def test_a_queued_prompt_found_on_takeover_is_adopted_and_a_cancel_deletes_it_from_the_queue(backend, tmp_path):
    with simulator(tmp_path, gpus=2, exec_ms=FOREVER_MS) as (base, _, _):
        queued = queue_behind_an_artist(base)
        job_id = orphaned_job(backend, queued, attempt=1)
        with runner(tmp_path, backend.runner_env(), [f"pod-a={base}"]) as proc:
            wait_for(lambda: proc.events("job_taken_over"), "the takeover", 90)
            assert proc.events("job_taken_over")[0]["adopted"] is True
            backend.request_cancel(job_id)
            job = wait_for(lambda: finished(backend, job_id), "the job to end", 90)
            assert job["status"] == "cancelled" and job["attempt"] == 2
            assert queue_all(base)["total_pending"] == 0 and queued not in history(base)
            assert queue_all(base)["queues"][1]["running_count"] == 0  # nothing submitted again


def test_a_takeover_that_finds_no_prompt_to_adopt_runs_the_job_again_once(backend, tmp_path):
    with simulator(tmp_path, gpus=1, exec_ms=100) as (base, _, _):
        lost = str(uuid.uuid4())  # its pod restarted: the prompt is nowhere
        job_id = orphaned_job(backend, lost, attempt=3)
        with runner(tmp_path, backend.runner_env(), [f"pod-a={base}"]) as proc:
            job = wait_for(lambda: finished(backend, job_id), "the job to end", 90)
            assert proc.events("job_taken_over")[0]["adopted"] is False
        assert job["status"] == "completed" and job["attempt"] == 4
        assert job["worker"]["prompt_id"] != lost and list(history(base)) == [job["worker"]["prompt_id"]]


def test_a_prompt_the_pod_no_longer_knows_hands_the_job_back_and_it_runs_again(backend, tmp_path):
    with simulator(tmp_path, gpus=2, exec_ms=FOREVER_MS) as (base, _, _):
        queued = queue_behind_an_artist(base)
        job_id = orphaned_job(backend, queued, attempt=1)
        with runner(tmp_path, backend.runner_env(), [f"pod-a={base}"]) as proc:
            wait_for(lambda: proc.events("job_taken_over"), "the takeover", 90)
            # As a ComfyUI restart would: the pod answers, but the prompt is gone.
            http_json("POST", base + "/queue", {"delete": [queued]}, {"X-TARGET-GPU": "0"})
            wait_for(lambda: proc.events("job_handed_back"), "the job handed back", 90)
            assert proc.events("job_handed_back")[0]["reason"] == "prompt_lost"
            job = wait_for(lambda: (lambda j: j if j.get("attempt") == 3 else None)(backend.job(job_id)),
                           "the job picked up again", 90)
            assert job["status"] == "in_progress" and job["worker"]["gpu"] == 1
            backend.request_cancel(job_id)
            assert wait_for(lambda: finished(backend, job_id), "the job to end", 90)["status"] == "cancelled"
