"""soft_empty_cache empties every GPU's cache, so workers call it only after an unload and at most
once per interval per GPU (issue 22 item 4). The clock is a counter the test moves."""
from multigpu.comfy_adapter.cache_trim import CacheTrimPolicy, patch_soft_empty_cache
from thread_runner import run_on_gpu


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_gpu_trims_once_per_interval_however_often_it_asks():
    clock = Clock()
    policy = CacheTrimPolicy(min_interval_s=30, clock=clock)
    assert policy.should_trim(0, force=False) is True
    policy.note_unloaded(0)
    assert [policy.should_trim(0, force=False) for _ in range(5)] == [False] * 5
    clock.now += 30
    assert policy.should_trim(0, force=False) is True  # it unloaded something meanwhile


def test_without_an_unload_the_periodic_trim_waits_twice_as_long():
    clock = Clock()
    policy = CacheTrimPolicy(min_interval_s=30, clock=clock)
    policy.should_trim(1, force=False)
    clock.now += 45
    assert policy.should_trim(1, force=False) is False
    clock.now += 15
    assert policy.should_trim(1, force=False) is True


def test_gpus_are_limited_separately_and_force_and_unbound_threads_always_trim():
    clock = Clock()
    policy = CacheTrimPolicy(min_interval_s=30, clock=clock)
    assert policy.should_trim(0, force=False) and policy.should_trim(1, force=False)
    assert policy.should_trim(0, force=True) is True  # attention/VAE out-of-memory fallbacks
    assert policy.should_trim(None, force=False) is True  # stock behaviour off the workers


def test_model_loads_on_a_worker_empty_the_cache_once_per_interval(comfy_stubs):
    import comfy.model_management as mm
    import torch

    clock = Clock()
    patch_soft_empty_cache(mm, CacheTrimPolicy(min_interval_s=30, clock=clock))

    class TorchModule:
        pass

    class Patcher:
        def __init__(self):
            self.load_device = torch.device("cuda", 0)
            self.model = TorchModule()

        def model_size(self):
            return 1

        def loaded_size(self):
            return 1

    def switch_models_ten_times():
        torch.cuda.set_device(0)
        kept = []
        for _ in range(10):
            kept.append(Patcher())
            mm.unload_all_models()  # free_memory unloads the previous model and trims
            mm.load_models_gpu([kept[-1]])
        return torch.cuda.empty_cache_calls

    assert run_on_gpu(0, switch_models_ten_times) == 1  # stock: 9, one per unload
    clock.now += 30
    assert run_on_gpu(0, switch_models_ten_times) == 2


def test_oom_recovery_and_a_requested_free_empty_the_cache_inside_the_interval(comfy_stubs):
    import comfy.model_management as mm
    import torch

    from multigpu.comfy_adapter.executor import ComfyExecutor
    from multigpu.comfy_adapter.interrupt import GpuInterruptFlags
    from multigpu.core.keyed_locks import KeyedLocks

    patch_soft_empty_cache(mm, CacheTrimPolicy(min_interval_s=30, clock=Clock()))
    executor = ComfyExecutor(interrupt_flags=GpuInterruptFlags(1), file_locks=KeyedLocks(), server=lambda: None)

    def trim_then_recover():
        mm.soft_empty_cache()  # a trim a moment ago: the interval has not passed
        executor.recover_from_oom(0)
        executor.free(0, unload_models=True, free_memory=False)
        return torch.cuda.empty_cache_calls

    assert run_on_gpu(0, trim_then_recover) == 3  # unforced, the last two would be skipped
