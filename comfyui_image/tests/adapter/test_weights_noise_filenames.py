"""Weights read once and shared, private noise generators, output counters nobody shares."""
import gc
import os
import threading
import time

from multigpu.comfy_adapter.filename_locks import patch_save_image_path, release_after_node
from multigpu.comfy_adapter.seeding import patch_prepare_noise
from multigpu.comfy_adapter.weights_cache import new_weights_cache, patch_load_torch_file
from multigpu.comfy_adapter.worker_binding import bind_current_thread
from multigpu.core.keyed_locks import KeyedLocks
from thread_runner import run_in_thread


def write(path, size):
    path.write_bytes(b"w" * size)
    return str(path)


def test_four_workers_loading_one_checkpoint_read_it_once_and_get_independent_dicts(comfy_stubs, tmp_path):
    import comfy.utils

    original = comfy.utils.load_torch_file

    def slow_read(*args, **kwargs):
        time.sleep(0.05)
        return original(*args, **kwargs)

    comfy.utils.load_torch_file = slow_read
    patch_load_torch_file(comfy.utils, new_weights_cache(max_bytes=10_000))
    ckpt = write(tmp_path / "model.pt", 100)
    start = threading.Barrier(4)
    results = []

    def worker():
        start.wait()
        results.append(comfy.utils.load_torch_file(ckpt))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert comfy.utils.reads == [ckpt]
    assert len({id(sd) for sd in results}) == 4
    assert all(sd["weight"] is results[0]["weight"] for sd in results)  # tensors shared
    results[0].pop("weight")  # ComfyUI pops keys from the dict it gets
    assert "weight" in results[1]


def test_metadata_is_returned_when_asked_and_gpu_loads_bypass_the_cache(comfy_stubs, tmp_path):
    import comfy.utils
    import torch

    patch_load_torch_file(comfy.utils, new_weights_cache(max_bytes=10_000))
    ckpt = write(tmp_path / "lora.pt", 10)
    state_dict, metadata = comfy.utils.load_torch_file(ckpt, return_metadata=True)
    assert metadata == {"format": "pt"} and "weight" in state_dict
    comfy.utils.load_torch_file(ckpt)
    comfy.utils.load_torch_file(ckpt, device=torch.device("cuda", 0))
    assert comfy.utils.reads == [ckpt, ckpt]  # one cached read, one direct GPU read


def test_unused_weights_are_evicted_least_recently_used_first_over_the_byte_budget(comfy_stubs, tmp_path):
    import comfy.utils

    cache = new_weights_cache(max_bytes=250)
    patch_load_torch_file(comfy.utils, cache)
    a, b, c = (write(tmp_path / f"{n}.ckpt", 100) for n in "abc")
    comfy.utils.load_torch_file(a)
    held_b = comfy.utils.load_torch_file(b)
    gc.collect()  # a's dict is gone: a is unused; b is still held
    comfy.utils.load_torch_file(c)
    cached = [os.path.basename(key[0]) for key in cache.keys()]
    assert cached == ["b.ckpt", "c.ckpt"]
    assert held_b["weight"]


def test_a_replaced_file_is_read_again(comfy_stubs, tmp_path):
    import comfy.utils

    patch_load_torch_file(comfy.utils, new_weights_cache(max_bytes=10_000))
    ckpt = write(tmp_path / "model.ckpt", 10)
    comfy.utils.load_torch_file(ckpt)
    write(tmp_path / "model.ckpt", 20)
    assert len(comfy.utils.load_torch_file(ckpt)["weight"]) == 20


def test_prepare_noise_draws_from_a_private_generator_seeded_per_call(comfy_stubs):
    import comfy.sample
    import torch

    patch_prepare_noise(comfy.sample)
    torch.cuda.set_device(1)
    first = comfy.sample.prepare_noise((1, 4, 8, 8), seed=42)
    second = comfy.sample.prepare_noise((1, 4, 8, 8), seed=7)
    assert first.generator is not torch.default_generator
    assert first.generator is not second.generator
    assert (first.generator.seed, second.generator.seed) == (42, 7)
    assert torch.manual_seed_calls == []  # the process-wide generator is left alone
    assert torch.cuda.seeded == [(1, 42), (1, 7)]  # only this thread's GPU, as stock seeds it
    assert comfy.sample.torch.randn is torch.randn  # everything else is the real module


def test_two_workers_saving_with_one_prefix_get_different_counters(comfy_stubs, tmp_path):
    import folder_paths

    locks = KeyedLocks()
    patch_save_image_path(folder_paths, locks)
    start = threading.Barrier(2)
    counters = []

    def save_image(gpu):
        bind_current_thread(gpu)
        start.wait()
        _, filename, counter, _, _ = folder_paths.get_save_image_path("ComfyUI", str(tmp_path))
        time.sleep(0.05)  # the node encodes the image before writing it
        (tmp_path / f"{filename}_{counter:05}_.png").write_bytes(b"png")
        counters.append(counter)
        release_after_node(locks)  # the worker's next "executing" message

    threads = [threading.Thread(target=save_image, args=(gpu,)) for gpu in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(counters) == [1, 2]
    assert locks.held_count(0) == locks.held_count(1) == 0


def test_unbound_threads_save_without_taking_a_lock(comfy_stubs, tmp_path):
    import folder_paths

    locks = KeyedLocks()
    patch_save_image_path(folder_paths, locks)
    folder_paths.get_save_image_path("x", str(tmp_path))
    assert locks.keys_held() == 0


def test_a_save_on_a_helper_thread_is_released_by_its_worker_and_blocks_no_other_gpu(comfy_stubs, tmp_path):
    import folder_paths

    locks = KeyedLocks()
    patch_save_image_path(folder_paths, locks)

    def on_gpu(gpu, function):
        outcome = []

        def bound():
            bind_current_thread(gpu)
            outcome.append(function())

        thread = threading.Thread(target=bound, daemon=True)  # daemon: a deadlock must not hang pytest
        thread.start()
        thread.join(10)  # only a deadlock takes this long
        assert outcome, f"GPU {gpu}'s thread is stuck"

    on_gpu(0, lambda: folder_paths.get_save_image_path("ComfyUI", str(tmp_path)))  # a node's helper thread
    on_gpu(0, lambda: release_after_node(locks))  # GPU 0's worker reaches the next node
    on_gpu(1, lambda: folder_paths.get_save_image_path("ComfyUI", str(tmp_path)))
    on_gpu(1, lambda: release_after_node(locks))
    assert locks.keys_held() == 0


def test_the_lock_map_does_not_grow_with_unique_prefixes(comfy_stubs, tmp_path):
    import folder_paths

    locks = KeyedLocks()
    patch_save_image_path(folder_paths, locks)

    def save_many():
        bind_current_thread(0)
        for n in range(200):
            folder_paths.get_save_image_path(f"ComfyUI_run{n}", str(tmp_path))
            release_after_node(locks)

    run_in_thread(save_many)
    assert locks.keys_held() == 0
