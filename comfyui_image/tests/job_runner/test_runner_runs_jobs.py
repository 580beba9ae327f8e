"""A job goes from pending to completed through a real runner process, a simulated pod and moto."""
from multigpu.sim.workflow import sim_workflow
from processes import runner, simulator, wait_for


def finished(backend, job_id):
    job = backend.job(job_id)
    return job if job.get("status") in ("completed", "failed", "cancelled") else None


def test_a_job_runs_on_an_idle_gpu_and_its_outputs_land_in_s3(backend, tmp_path):
    with simulator(tmp_path, gpus=2, exec_ms=200) as (base, _, output):
        job_id = backend.put_job(sim_workflow(seed=7, prefix="portraits/cat"), owner="alice")
        with runner(tmp_path, backend.runner_env(), [f"pod-a={base}"]) as proc:
            job = wait_for(lambda: finished(backend, job_id), "the job to finish", timeout=90)
    assert job["status"] == "completed", job
    assert job["attempt"] == 1 and job["worker"]["pod"] == "pod-a"
    [record] = job["outputs"]
    assert record["key"].startswith(f"jobs/alice/{job_id}/portraits/cat_") and record["key"].endswith(".png")
    assert record["content_type"] == "image/png" and record["media_type"] == "images"
    stored = backend.object(record["key"])
    body = stored["Body"].read()
    assert stored["ContentType"] == "image/png" and body.startswith(b"\x89PNG") and len(body) == record["size"]
    # ComfyUI saved it in the job's own folder, which the output shipper leaves alone.
    assert list((output / "jobs" / job_id / "portraits").glob("cat_*.png"))
    assert job["progress"]["nodes_total"] == 3
    assert backend.messages_in_flight() == 0
