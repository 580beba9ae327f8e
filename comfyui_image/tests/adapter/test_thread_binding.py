"""Threads and executor tasks a GPU worker starts run on its GPU; unbound threads asking for the
device during execution are reported (issue 22 item 5). Runs install() on the stubs so the
patched get_torch_device and the threading patches are the ones the image uses."""
import asyncio
import concurrent.futures
import logging
import threading

import pytest

from multigpu.comfy_adapter.install import install
from multigpu.comfy_adapter.worker_binding import bind_current_thread, bound_gpu
from thread_runner import run_in_thread


@pytest.fixture
def mm(comfy_stubs):
    installation = install(comfy_stubs, 2, weights_cache_bytes=0, warmup_timeout_s=10,
                           install_routes=lambda app, pool: None)
    import comfy.model_management as mm

    try:
        yield mm, installation
    finally:
        installation.uninstall()
        installation.pool.stop()


def on_worker(gpu, function):
    """Like ComfyExecutor.bind_thread: bind, select the device, then run."""
    def bound():
        import torch

        bind_current_thread(gpu)
        torch.cuda.set_device(gpu)
        return function()

    return run_in_thread(bound)


def where(mm):
    import torch

    return mm.get_torch_device().index, torch.cuda.current_device(), bound_gpu()


def test_a_plain_thread_started_by_a_worker_computes_on_its_gpu(mm):
    mm, _ = mm
    seen = []

    def start_helper():
        helper = threading.Thread(target=lambda: seen.append(where(mm)))
        helper.start()
        helper.join()

    on_worker(1, start_helper)
    assert seen == [(1, 1, 1)]  # stock: (0, 0, None)


def test_a_shared_executor_runs_each_task_on_its_submitters_gpu_and_then_forgets_it(mm):
    mm, _ = mm
    shared = concurrent.futures.ThreadPoolExecutor(max_workers=1)  # one thread serves both GPUs
    try:
        first = on_worker(1, lambda: shared.submit(where, mm).result())
        second = on_worker(0, lambda: shared.submit(where, mm).result())
        after = shared.submit(lambda: bound_gpu()).result()
    finally:
        shared.shutdown()
    assert (first, second, after) == ((1, 1, 1), (0, 0, 0), None)


def test_run_in_executor_from_a_worker_runs_on_its_gpu(mm):
    mm, _ = mm

    async def ask():
        return await asyncio.get_running_loop().run_in_executor(None, where, mm)

    assert on_worker(1, lambda: asyncio.run(ask())) == (1, 1, 1)


def test_an_unbound_thread_asking_for_the_device_during_execution_is_warned_about_once(mm, caplog):
    mm, installation = mm
    running = {}
    installation.pool.running_prompt_ids = lambda: running

    def ask_twice():
        mm.get_torch_device()
        mm.get_torch_device()

    with caplog.at_level(logging.WARNING, logger="multigpu.thread_binding"):
        run_in_thread(ask_twice)  # nothing executing: quiet
        running[0] = "p1"
        run_in_thread(ask_twice)
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert "not started by a GPU worker" in warnings[0] and "test_thread_binding.py" in warnings[0]
