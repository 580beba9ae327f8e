"""Each GPU's loaded-model list, and the garbage-collection finalizer that may run on any thread
(issue 22 item 2). The stub model_management copies v0.8.0's LoadedModel bookkeeping,
free_memory walk and cleanup_models finalizer."""
import gc

import pytest

from multigpu.comfy_adapter.loaded_models import patch_loaded_models
from thread_runner import run_on_gpu


class TorchModule:
    """Stands for the torch module a ModelPatcher loads; dies with the patcher."""


class Patcher:
    def __init__(self, gpu, size=100):
        import torch

        self.load_device = torch.device("cuda", gpu)
        self.model = TorchModule()
        self.size = size

    def model_size(self):
        return self.size

    def loaded_size(self):
        return self.size


@pytest.fixture
def mm(comfy_stubs):
    import comfy.model_management as mm

    patch_loaded_models(mm)
    gc.disable()  # the test decides which thread collects
    try:
        yield mm
    finally:
        gc.enable()


def test_each_gpu_unloads_only_its_own_models(mm):
    import torch

    patchers = {0: Patcher(0), 1: Patcher(1)}

    def load_and_unload(gpu, unload):
        torch.cuda.set_device(gpu)
        mm.load_models_gpu([patchers[gpu]])
        if unload:
            mm.unload_all_models()
        return len(mm.current_loaded_models)

    assert run_on_gpu(0, lambda: load_and_unload(0, unload=False)) == 1
    assert run_on_gpu(1, lambda: load_and_unload(1, unload=True)) == 0
    proxy = mm.current_loaded_models
    assert len(proxy.for_gpu(0)) == 1 and len(proxy.for_gpu(1)) == 0
    assert len(mm.current_loaded_models) == 0  # the unbound (HTTP/main) view


def test_a_model_collected_on_another_gpus_thread_leaves_no_dead_entry_behind(mm):
    import torch

    held = {}

    def load_on_gpu1():
        torch.cuda.set_device(1)
        held["patcher"] = Patcher(1)
        mm.load_models_gpu([held["patcher"]])

    def drop_on_gpu0():
        torch.cuda.set_device(0)
        held["gpu0"] = Patcher(0)
        mm.load_models_gpu([held["gpu0"]])  # GPU 0 has a list of its own
        del held["patcher"]  # the last reference: the finalizer runs here, on GPU 0's thread
        gc.collect()
        return len(mm.current_loaded_models)

    run_on_gpu(1, load_on_gpu1)
    assert run_on_gpu(0, drop_on_gpu0) == 1  # GPU 0's own model is untouched
    freed = run_on_gpu(1, lambda: mm.free_memory(1e30, torch.device("cuda", 1)))
    assert freed == []  # stock: AttributeError 'NoneType' object has no attribute 'model_size'
    assert len(mm.current_loaded_models.for_gpu(1)) == 0
    assert len(mm.current_loaded_models.for_gpu(0)) == 1


def test_a_model_that_dies_during_a_walk_is_skipped_not_measured(mm):
    import torch

    def scenario():
        torch.cuda.set_device(1)
        alive, doomed = Patcher(1), Patcher(1)
        mm.load_models_gpu([alive, doomed])
        del doomed  # finalizer fires after the walk's own pruning, as a collection mid-walk would
        entries = list(mm.current_loaded_models)
        return [entry.is_dead() for entry in entries], mm.free_memory(1e30, torch.device("cuda", 1))

    dead_flags, freed = run_on_gpu(1, scenario)
    assert sorted(dead_flags) == [False, True]
    assert len(freed) == 1


def test_loaded_models_lists_no_collected_model(mm):
    import torch

    def scenario():
        torch.cuda.set_device(0)
        patcher = Patcher(0)
        mm.load_models_gpu([patcher, Patcher(0)])  # the second one dies at once
        return mm.loaded_models(), patcher

    models, patcher = run_on_gpu(0, scenario)
    assert models == [patcher]
