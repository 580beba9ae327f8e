"""ComfyExecutor over the stub PromptExecutor: OOM detection, held-back errors, announcements."""

from multigpu.comfy_adapter.executor import ComfyExecutor
from multigpu.comfy_adapter.interrupt import GpuInterruptFlags, patch_interrupts
from multigpu.comfy_adapter.server_state import patch_prompt_server
from multigpu.core.keyed_locks import KeyedLocks
from multigpu.core.task import Task
from thread_runner import run_in_thread


def on_worker(gpu, steps):
    """Run each step on one new thread; returns the last step's result."""
    return run_in_thread(lambda: [step() for step in steps][-1])


def setup(comfy_stubs, device_type="cuda"):
    import comfy.model_management as mm
    import server

    flags = GpuInterruptFlags(2)
    patch_interrupts(mm, flags)
    patch_prompt_server(server, on_node_boundary=lambda: None)
    prompt_server = server.PromptServer(loop=None)
    return ComfyExecutor(interrupt_flags=flags, file_locks=KeyedLocks(), server=lambda: prompt_server,
                         device_type=device_type), prompt_server


def task(class_type, prompt_id="p1"):
    return Task(number=0, prompt_id=prompt_id, prompt={"1": {"class_type": class_type}},
                extra_data={"client_id": "alice"}, outputs_to_execute=["1"])


def sent_events(prompt_server, name):
    return [data for event, data, sid in prompt_server.sent if event == name]


def test_an_oom_is_detected_and_its_error_held_back_when_the_core_will_retry(comfy_stubs):
    executor, prompt_server = setup(comfy_stubs)
    result = on_worker(0, [lambda: executor.bind_thread(0),
                           lambda: executor.execute(0, task("RaiseOOM"), last_attempt=False)])
    assert result.out_of_memory is True and result.success is False
    assert "CUDA out of memory" in result.error
    assert sent_events(prompt_server, "execution_error") == []
    assert [event for event, _ in result.messages][-1] == "execution_error"  # history keeps it


def test_the_last_attempts_oom_error_reaches_the_client(comfy_stubs):
    executor, prompt_server = setup(comfy_stubs)
    result = on_worker(0, [lambda: executor.bind_thread(0),
                           lambda: executor.execute(0, task("RaiseOOM"), last_attempt=True)])
    assert result.out_of_memory is True
    assert len(sent_events(prompt_server, "execution_error")) == 1


def test_other_errors_are_not_ooms_and_are_sent_at_once(comfy_stubs):
    executor, prompt_server = setup(comfy_stubs)
    result = on_worker(0, [lambda: executor.bind_thread(0),
                           lambda: executor.execute(0, task("RaiseValueError"), last_attempt=False)])
    assert result.out_of_memory is False and result.error == "bad input"
    assert len(sent_events(prompt_server, "execution_error")) == 1


def test_a_successful_prompt_after_a_failed_one_reports_success(comfy_stubs):
    executor, _ = setup(comfy_stubs)
    results = []
    on_worker(1, [lambda: executor.bind_thread(1),
                  lambda: results.append(executor.execute(1, task("RaiseValueError"), last_attempt=True)),
                  lambda: results.append(executor.execute(1, task("Noop", "p2"), last_attempt=True))])
    assert [r.success for r in results] == [False, True]
    assert results[1].outputs == {"1": {"ran": True}}


def test_interrupt_stops_only_the_prompt_on_that_gpu(comfy_stubs):
    executor, _ = setup(comfy_stubs)

    def run_interrupted():
        executor.bind_thread(1)
        import nodes
        original = nodes.interrupt_processing
        nodes.interrupt_processing = lambda value=True: executor.interrupt(1, "p1")  # arrives mid-prompt
        try:
            return executor.execute(1, task("Noop"), last_attempt=True)
        finally:
            nodes.interrupt_processing = original

    result = on_worker(1, [run_interrupted])
    assert result.interrupted is True and result.success is False


def test_announce_done_sends_the_final_executing_message_to_the_tasks_client(comfy_stubs):
    executor, prompt_server = setup(comfy_stubs)
    done = task("Noop")
    executor.announce_done(0, done, result=None)
    assert prompt_server.sent[-1] == ("executing", {"node": None, "prompt_id": "p1"}, "alice")


def test_bind_thread_selects_the_device_and_warmup_synchronises_it(comfy_stubs):
    import comfy.model_management as mm
    import torch
    from multigpu.comfy_adapter.device import patch_get_torch_device

    patch_get_torch_device(mm, torch)
    executor, _ = setup(comfy_stubs)
    device = on_worker(1, [lambda: executor.bind_thread(1), lambda: executor.warmup(1),
                           mm.get_torch_device])
    assert device == torch.device("cuda", 1)
    assert torch.cuda.synchronized[-1] == torch.device("cuda", 1)
    assert mm.get_torch_device() == torch.device("cuda", 0)  # unbound thread: stock answer


def test_the_cpu_rehearsal_binds_workers_to_the_cpu_without_touching_cuda(comfy_stubs):
    import comfy.model_management as mm
    import torch
    from multigpu.comfy_adapter.device import patch_get_torch_device

    patch_get_torch_device(mm, torch, "cpu")
    executor, _ = setup(comfy_stubs, device_type="cpu")
    synchronized_before = list(torch.cuda.synchronized)
    device, current = on_worker(1, [lambda: executor.bind_thread(1), lambda: executor.warmup(1),
                                    lambda: (mm.get_torch_device(), torch.cuda.current_device())])
    assert device == torch.device("cpu")
    assert current == 0  # torch.cuda.set_device(1) was not called on the worker
    assert torch.cuda.synchronized == synchronized_before


def test_the_probe_runs_a_tiny_kernel_on_the_workers_gpu_and_raises_when_cuda_fails(comfy_stubs):
    import comfy.model_management as mm
    import torch
    from multigpu.comfy_adapter.device import patch_get_torch_device

    patch_get_torch_device(mm, torch)
    executor, _ = setup(comfy_stubs)
    on_worker(1, [lambda: executor.bind_thread(1), lambda: executor.probe(1)])
    assert torch.cuda.synchronized[-1] == torch.device("cuda", 1)

    def sticky_error(device=None):
        raise RuntimeError("CUDA error: an illegal memory access was encountered")

    torch.cuda.synchronize = sticky_error
    try:
        on_worker(1, [lambda: executor.bind_thread(1), lambda: executor.probe(1)])
    except RuntimeError as error:
        assert "illegal memory access" in str(error)
    else:
        raise AssertionError("the probe must raise when the GPU cannot synchronize")


def test_cuda_allocation_failures_reported_as_runtime_errors_are_ooms_too(comfy_stubs):
    executor, prompt_server = setup(comfy_stubs)
    messages = ["CUDA error: out of memory\nCUDA kernel errors might be asynchronously reported",
                "CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`",
                "cuDNN error: CUDNN_STATUS_ALLOC_FAILED",
                "cuDNN error: CUDNN_STATUS_NOT_ENOUGH_WORKSPACE"]
    for message in messages:
        failing = Task(number=0, prompt_id="p1", extra_data={"client_id": "alice"},
                       prompt={"1": {"class_type": "RaiseRuntimeError", "inputs": {"message": message}}},
                       outputs_to_execute=["1"])
        result = on_worker(0, [lambda: executor.bind_thread(0),
                               lambda: executor.execute(0, failing, last_attempt=False)])
        assert result.out_of_memory is True, message
    assert sent_events(prompt_server, "execution_error") == []  # all held back for the retry


def test_an_interrupt_that_arrives_during_oom_recovery_stops_the_retry(comfy_stubs):
    executor, prompt_server = setup(comfy_stubs)
    results = []
    on_worker(0, [lambda: executor.bind_thread(0),
                  lambda: results.append(executor.execute(0, task("RaiseOOM"), last_attempt=False)),
                  lambda: executor.recover_from_oom(0),
                  lambda: executor.interrupt(0, "p1"),  # the user's Cancel, while the cache empties
                  lambda: results.append(executor.execute(0, task("Noop"), last_attempt=True))])
    assert results[0].out_of_memory is True
    assert results[1].interrupted is True and results[1].success is False
    assert len(sent_events(prompt_server, "execution_interrupted")) == 1


def test_an_interrupt_that_comes_after_the_queue_handed_the_prompt_out_but_before_it_started_stops_it(comfy_stubs):
    # PromptExecutor clears the flag as a prompt starts; a Cancel in that gap was wiped.
    executor, prompt_server = setup(comfy_stubs)
    results = []
    on_worker(0, [lambda: executor.bind_thread(0),
                  lambda: executor.interrupt(0, "p1"),
                  lambda: results.append(executor.execute(0, task("Noop"), last_attempt=True))])
    assert results[0].interrupted is True and results[0].success is False


def test_a_new_prompt_still_clears_an_interrupt_left_from_the_previous_one(comfy_stubs):
    executor, _ = setup(comfy_stubs)
    results = []
    on_worker(0, [lambda: executor.bind_thread(0),
                  lambda: results.append(executor.execute(0, task("RaiseOOM"), last_attempt=False)),
                  lambda: executor.recover_from_oom(0),
                  lambda: results.append(executor.execute(0, task("Noop"), last_attempt=True)),
                  lambda: executor.interrupt(0, "p1"),  # arrived after the prompt's last check
                  lambda: results.append(executor.execute(0, task("Noop", "p2"), last_attempt=True))])
    assert [r.success for r in results] == [False, True, True]
