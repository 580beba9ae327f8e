"""A burst of 1,000 jobs, as the API would queue them, with 2 runners and 2 simulated pods of 4 GPUs:
every job completes exactly once, with its output in S3."""
from multigpu.sim.workflow import sim_workflow
from jobs import history
from processes import runner, simulator, wait_for

JOBS = 1000
# Roomier than the other tests' timings: 1,000 jobs on shared CPUs must not lose leases to a slow beat.
TIMINGS = {"JOB_HEARTBEAT_SECONDS": "1", "JOB_LEASE_SECONDS": "15", "JOB_VISIBILITY_TIMEOUT_SECONDS": "30"}


def test_a_burst_of_1000_jobs_completes_each_exactly_once_with_2_runners_and_2_pods(backend, tmp_path):
    with simulator(tmp_path, gpus=4, exec_ms=5, name="pod-a") as (base_a, _, _), \
            simulator(tmp_path, gpus=4, exec_ms=5, name="pod-b") as (base_b, _, _):
        pods = [f"pod-a={base_a}", f"pod-b={base_b}"]
        with runner(tmp_path, backend.runner_env(), pods, name="runner-a", timings=TIMINGS) as first, \
                runner(tmp_path, backend.runner_env(), pods, name="runner-b", timings=TIMINGS) as second:
            # Queued while the runners run, as the API would: moto's SQS slows with the queue's length
            # (each call walks every message), which a queue filled before they start would only measure.
            ids = backend.put_jobs([sim_workflow(seed=i, steps=1) for i in range(JOBS)])
            # Counted from the runners' logs: scanning the table in a loop would load moto, not the runners.
            wait_for(lambda: len(first.events("job_finished")) + len(second.events("job_finished")) >= JOBS,
                     f"{JOBS} jobs finished", timeout=900, every=1)
            wait_for(lambda: backend.messages_in_flight() == 0, "every message deleted", 120, every=1)
            finishes = first.events("job_finished") + second.events("job_finished")
        prompts_run = len(history(base_a)) + len(history(base_b))
    assert sorted(e["job_id"] for e in finishes) == sorted(ids)  # each once, by one runner
    jobs = backend.all_jobs()
    assert len(jobs) == JOBS and all(job["status"] == "completed" and len(job["outputs"]) == 1 for job in jobs)
    keys = set()
    for page in backend.client("s3").get_paginator("list_objects_v2").paginate(Bucket=backend.bucket):
        keys.update(o["Key"] for o in page.get("Contents", []))
    assert keys == {job["outputs"][0]["key"] for job in jobs}
    # Both runners and both pods took their share.
    assert first.events("job_finished") and second.events("job_finished")
    assert prompts_run >= JOBS
    print(f"burst: {JOBS} jobs, {prompts_run} prompts run, runner-a {len(first.events('job_finished'))}, "
          f"runner-b {len(second.events('job_finished'))}")
