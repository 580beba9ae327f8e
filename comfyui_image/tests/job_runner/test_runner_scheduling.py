"""Jobs take idle GPUs only: never more than a pod has free, never one interactive traffic is using."""
from multigpu.sim.workflow import sim_workflow
from jobs import finished, in_status, loops_after, queue_all
from processes import http_json, runner, simulator, wait_for

FOREVER_MS = 600_000  # a prompt that runs until it is cancelled


def test_a_4_gpu_pod_runs_4_jobs_at_once_and_no_more_and_running_jobs_cancel(backend, tmp_path):
    with simulator(tmp_path, gpus=4, exec_ms=FOREVER_MS) as (base, _, _):
        jobs = [backend.put_job(sim_workflow(seed=i)) for i in range(6)]
        with runner(tmp_path, backend.runner_env(), [f"pod-a={base}"]) as proc:
            wait_for(lambda: len(in_status(backend, jobs, "in_progress")) == 4, "4 jobs in progress", 90)
            wait_for(lambda: queue_all(base)["total_running"] == 4, "4 prompts running", 60)
            wait_for(loops_after(proc, 4), "4 more turns of the runner's loop", 60)
            assert queue_all(base)["total_pending"] == 0  # nothing queued behind a busy GPU
            waiting = in_status(backend, jobs, "pending")
            assert len(waiting) == 2 and all(backend.job(j)["attempt"] == 0 for j in waiting)
            running = in_status(backend, jobs, "in_progress")
            assert sorted(backend.job(j)["worker"]["gpu"] for j in running) == [0, 1, 2, 3]
            # The API cancels: pending jobs at once, running ones by flag (the runner interrupts).
            for job_id in waiting:
                backend.update(job_id, "SET #s = :c", {":c": {"S": "cancelled"}}, {"#s": "status"})
            for job_id in running:
                backend.request_cancel(job_id)
            for job_id in jobs:
                wait_for(lambda: finished(backend, job_id), f"job {job_id} to end", 90)
            assert all(backend.job(j)["status"] == "cancelled" for j in jobs)
            assert all(backend.job(j)["attempt"] == 1 for j in running)
            wait_for(lambda: backend.messages_in_flight() == 0, "every message deleted", 60)
            wait_for(lambda: queue_all(base)["total_running"] == 0, "the GPUs idle again", 30)
            dropped = {e["job_id"] for e in proc.events("message_dropped")}
            assert set(waiting) <= dropped  # cancelled before pickup: the message is just deleted


def test_interactive_prompts_on_a_gpu_make_the_runner_leave_that_gpu(backend, tmp_path):
    with simulator(tmp_path, gpus=2, exec_ms=FOREVER_MS) as (base, _, _):
        status, answer = http_json("POST", base + "/prompt", {"prompt": sim_workflow(seed=99),
                                                               "client_id": "artist"},
                                   headers={"X-TARGET-GPU": "0"})
        assert status == 200, answer
        wait_for(lambda: queue_all(base)["queues"][0]["running_count"] == 1, "the artist's prompt running")
        jobs = [backend.put_job(sim_workflow(seed=i)) for i in range(2)]
        with runner(tmp_path, backend.runner_env(), [f"pod-a={base}"]) as proc:
            [first] = wait_for(lambda: in_status(backend, jobs, "in_progress"), "a job in progress", 90)
            assert backend.job(first)["worker"]["gpu"] == 1
            wait_for(loops_after(proc, 4), "4 more turns of the runner's loop", 60)
            [second] = in_status(backend, jobs, "pending")
            assert queue_all(base)["queues"][0]["pending_count"] == 0
            # The artist is done: GPU 0 is idle, and the waiting job takes it.
            http_json("POST", base + "/interrupt", {"prompt_id": answer["prompt_id"]})
            wait_for(lambda: backend.job(second)["status"] == "in_progress", "the second job to start", 90)
            assert backend.job(second)["worker"]["gpu"] == 0
            for job_id in jobs:
                backend.request_cancel(job_id)
            for job_id in jobs:
                wait_for(lambda: finished(backend, job_id), f"job {job_id} to end", 90)
