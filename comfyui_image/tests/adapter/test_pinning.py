"""Pinned host memory: a budget per GPU, counted under a lock, shared weights pinned once and
unpinned by their last holder, and the figures on /metrics (issue 22 item 8). The stub
model_management copies v0.8.0's unlocked, process-wide pin_memory/unpin_memory."""
import pytest

from multigpu.comfy_adapter.install import install
from multigpu.core.pinned_memory import split_budget
from thread_runner import run_on_gpu


@pytest.fixture
def installed(comfy_stubs):
    # ComfyUI's budget is 1000 bytes (the stub's MAX_PINNED_MEMORY); the weights cache takes 200.
    installation = install(comfy_stubs, 2, weights_cache_bytes=200, warmup_timeout_s=10,
                           install_routes=lambda app, pool: None)
    import comfy.model_management as mm
    import torch

    try:
        yield installation, mm, torch
    finally:
        installation.uninstall()
        installation.pool.stop()


def test_the_budget_left_after_the_weights_cache_is_split_between_gpus():
    assert split_budget(1000, 200, 2) == 400
    assert split_budget(-1, 0, 4) == 0  # --disable-pinned-memory


def test_one_gpu_cannot_pin_the_whole_budget(installed):
    _, mm, torch = installed
    assert run_on_gpu(0, lambda: mm.pin_memory(torch.Parameter(0x1000, 300))) is True
    assert run_on_gpu(0, lambda: mm.pin_memory(torch.Parameter(0x2000, 300))) is False  # stock: True
    assert run_on_gpu(1, lambda: mm.pin_memory(torch.Parameter(0x3000, 300))) is True
    assert mm.TOTAL_PINNED_MEMORY == 600


def test_a_weight_shared_by_two_gpus_stays_pinned_until_both_unpin_it(installed):
    _, mm, torch = installed
    shared = torch.Parameter(0x4000, 100)  # one tensor the weights cache gave both GPUs
    runtime = torch.cuda.cudart()
    assert run_on_gpu(0, lambda: mm.pin_memory(shared)) is True
    assert run_on_gpu(1, lambda: mm.pin_memory(shared)) is True  # stock: False, already pinned
    assert run_on_gpu(0, lambda: mm.unpin_memory(shared)) is True
    assert shared.is_pinned()  # stock: unregistered under GPU 1's copies
    assert run_on_gpu(1, lambda: mm.unpin_memory(shared)) is True
    assert runtime.calls == [("register", 0x4000), ("unregister", 0x4000)]
    assert mm.TOTAL_PINNED_MEMORY == 0
    assert run_on_gpu(1, lambda: mm.unpin_memory(shared)) is False  # nothing left to unpin


def test_pinned_bytes_per_gpu_are_on_metrics(installed):
    installation, mm, torch = installed
    run_on_gpu(1, lambda: mm.pin_memory(torch.Parameter(0x5000, 128)))
    lines = installation.pool.metrics.exposition()[0].decode().splitlines()
    assert 'comfyui_pinned_memory_bytes{gpu="0"} 0.0' in lines
    assert 'comfyui_pinned_memory_bytes{gpu="1"} 128.0' in lines
    assert "comfyui_pinned_memory_registered_bytes 128.0" in lines
    assert "comfyui_pinned_memory_budget_bytes 400.0" in lines
