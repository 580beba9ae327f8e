"""ComfyUI's errors fail the job with their details; a finished job's redelivered message is dropped."""
from multigpu.sim.workflow import sim_workflow
from jobs import finished
from processes import runner, simulator, wait_for


def test_a_prompt_comfyui_refuses_fails_the_job_with_its_node_errors(backend, tmp_path):
    with simulator(tmp_path, gpus=1, exec_ms=50) as (base, _, _):
        job_id = backend.put_job(sim_workflow(ckpt="missing.safetensors"))
        with runner(tmp_path, backend.runner_env(), [f"pod-a={base}"]):
            job = wait_for(lambda: finished(backend, job_id), "the job to end", 90)
    assert job["status"] == "failed"
    error = job["execution_error"]
    assert error["type"] == "prompt_rejected"
    assert "Prompt outputs failed validation" in error["exception_message"]
    assert error["node_errors"]["4"]["errors"][0]["type"] == "value_not_in_list"


def test_an_execution_error_fails_the_job_with_the_node_and_exception(backend, tmp_path):
    with simulator(tmp_path, gpus=1, exec_ms=50) as (base, _, _):
        job_id = backend.put_job(sim_workflow(gpu_fault=True))
        with runner(tmp_path, backend.runner_env(), [f"pod-a={base}"]):
            job = wait_for(lambda: finished(backend, job_id), "the job to end", 90)
    assert job["status"] == "failed"
    error = job["execution_error"]
    assert error["type"] == "execution_error" and error["node_id"] == "1"
    assert error["node_type"] == "SimulateGpuFault" and error["exception_type"] == "torch.AcceleratorError"
    assert "illegal memory access" in error["exception_message"] and isinstance(error["traceback"], list)
    assert "outputs" not in job


def test_a_redelivered_message_of_a_finished_job_is_dropped(backend, tmp_path):
    with simulator(tmp_path, gpus=1, exec_ms=50) as (base, _, _):
        job_id = backend.put_job(sim_workflow())
        with runner(tmp_path, backend.runner_env(), [f"pod-a={base}"]) as proc:
            done = wait_for(lambda: finished(backend, job_id), "the job to end", 90)
            backend.send(job_id)  # as SQS may deliver a message twice
            wait_for(lambda: [e for e in proc.events("message_dropped") if e["job_id"] == job_id],
                     "the runner to drop the second message", 60)
            wait_for(lambda: backend.messages_in_flight() == 0, "the message deleted", 60)
        assert backend.job(job_id) == done  # untouched: completed once
        assert len(proc.events("job_finished")) == 1
