"""Per-GPU state: server attributes, interrupt flags, loaded models, progress, subgraph prefixes."""
import threading

import pytest

from multigpu.comfy_adapter.graph_prefix import patch_graph_builder
from multigpu.comfy_adapter.interrupt import GpuInterruptFlags, patch_interrupts
from multigpu.comfy_adapter.progress import patch_progress
from multigpu.comfy_adapter.server_state import patch_prompt_server
from multigpu.comfy_adapter.worker_binding import bind_current_thread
from thread_runner import run_in_thread


def run_on_gpu(gpu, function):
    """Run `function` on a new thread bound to `gpu`; return its result or raise its error."""
    def bound():
        bind_current_thread(gpu)
        return function()

    return run_in_thread(bound)


def test_each_worker_sees_its_own_client_id_and_the_http_thread_sees_none(comfy_stubs):
    import server

    patch_prompt_server(server, on_node_boundary=lambda: None)
    prompt_server = server.PromptServer(loop=None)
    both_set = threading.Barrier(2)
    seen = {}

    def worker(gpu):
        bind_current_thread(gpu)
        prompt_server.client_id = f"client-{gpu}"
        prompt_server.last_prompt_id = f"prompt-{gpu}"
        both_set.wait()
        seen[gpu] = (prompt_server.client_id, prompt_server.last_prompt_id)

    threads = [threading.Thread(target=worker, args=(gpu,)) for gpu in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {0: ("client-0", "prompt-0"), 1: ("client-1", "prompt-1")}
    assert prompt_server.client_id is None and prompt_server.last_node_id is None


def test_send_sync_reports_node_boundaries_for_executing_and_executed_only(comfy_stubs):
    import server

    boundaries = []
    patch_prompt_server(server, on_node_boundary=lambda: boundaries.append(1))
    prompt_server = server.PromptServer(loop=None)
    for event in ("executing", "progress", "executed", "status"):
        prompt_server.send_sync(event, {}, None)
    assert len(boundaries) == 2
    assert [sent[0] for sent in prompt_server.sent] == ["executing", "progress", "executed", "status"]


def test_interrupting_one_gpu_leaves_the_other_running(comfy_stubs):
    import comfy.model_management as mm
    import nodes

    flags = GpuInterruptFlags(2)
    patch_interrupts(mm, flags)
    flags.set(1)
    assert run_on_gpu(0, mm.processing_interrupted) is False
    assert run_on_gpu(0, mm.throw_exception_if_processing_interrupted) is None
    with pytest.raises(mm.InterruptProcessingException):
        run_on_gpu(1, mm.throw_exception_if_processing_interrupted)
    assert flags.is_set(1) is False  # taken, as stock clears it when raising


def test_a_gpu_starting_a_prompt_does_not_clear_another_gpus_interrupt(comfy_stubs):
    import comfy.model_management as mm
    import nodes

    flags = GpuInterruptFlags(2)
    patch_interrupts(mm, flags)
    flags.set(0)
    run_on_gpu(1, lambda: nodes.interrupt_processing(False))  # what execute() does first
    assert flags.is_set(0) is True


def test_an_interrupt_raised_off_the_workers_goes_to_the_pool_and_sets_no_flag_itself(comfy_stubs):
    import comfy.model_management as mm
    import nodes

    flags = GpuInterruptFlags(3)
    asked = []
    patch_interrupts(mm, flags, off_worker=lambda: asked.append("scoped"))
    nodes.interrupt_processing()  # e.g. a custom node's route on the aiohttp thread
    assert [flags.is_set(gpu) for gpu in range(3)] == [False, False, False]
    assert asked == ["scoped"]
    flags.set(2)
    nodes.interrupt_processing(False)  # clearing from off the workers clears nothing
    assert flags.is_set(2) is True and asked == ["scoped"]


def test_without_a_pool_an_off_worker_interrupt_is_ignored_with_a_warning(comfy_stubs, caplog):
    import comfy.model_management as mm
    import nodes

    flags = GpuInterruptFlags(2)
    patch_interrupts(mm, flags)
    nodes.interrupt_processing()
    assert not flags.any_set()
    assert '{"all": true}' in caplog.text


def test_progress_registries_and_graph_prefixes_are_per_gpu(comfy_stubs):
    import comfy_execution.progress as progress
    import comfy_execution.graph_utils as graph_utils
    from comfy_execution.graph import DynamicPrompt

    patch_progress(progress)
    patch_graph_builder(graph_utils)
    GraphBuilder = graph_utils.GraphBuilder

    def prompt_on(gpu):
        progress.reset_progress_state(f"p{gpu}", DynamicPrompt({}))
        GraphBuilder.set_default_prefix(f"node{gpu}", 3)
        return progress.get_progress_state().prompt_id, GraphBuilder.alloc_prefix(), GraphBuilder.alloc_prefix()

    assert run_on_gpu(0, lambda: prompt_on(0)) == ("p0", "node0.3.0.", "node0.3.1.")
    assert run_on_gpu(1, lambda: prompt_on(1)) == ("p1", "node1.3.0.", "node1.3.1.")
    assert progress.get_progress_state().prompt_id == ""
    assert GraphBuilder.alloc_prefix() == ".0.0."
