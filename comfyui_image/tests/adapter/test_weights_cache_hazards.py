"""What the shared weights cache hands out and when it caches (issue 22 item 7): containers per
caller all the way down, a key that includes safe_load, and .safetensors left to mmap."""
from multigpu.comfy_adapter.weights_cache import MmapLoads, new_weights_cache, patch_load_torch_file


def write(path, size=10):
    path.write_bytes(b"w" * size)
    return str(path)


def test_each_caller_gets_its_own_nested_dicts_over_shared_tensors(comfy_stubs, tmp_path):
    import comfy.utils

    patch_load_torch_file(comfy.utils, new_weights_cache(max_bytes=10_000))
    ckpt = write(tmp_path / "ipadapter.bin")
    first, second = comfy.utils.load_torch_file(ckpt), comfy.utils.load_torch_file(ckpt)
    assert comfy.utils.reads == [ckpt]
    first["image_proj"].pop("weight")  # what IP-Adapter loaders do to the nested dicts
    first["ip_adapter"]["renamed"] = first["ip_adapter"].pop("1.to_k")
    assert set(second["image_proj"]) == {"weight", "bias"}  # stock shallow copy: {"bias"}
    assert set(second["ip_adapter"]) == {"1.to_k"}
    assert second["image_proj"]["bias"] is first["image_proj"]["bias"]  # tensors still shared


def test_a_safe_load_is_never_served_from_an_unsafe_one(comfy_stubs, tmp_path):
    import comfy.utils

    patch_load_torch_file(comfy.utils, new_weights_cache(max_bytes=10_000))
    ckpt = write(tmp_path / "model.ckpt")
    comfy.utils.load_torch_file(ckpt)
    comfy.utils.load_torch_file(ckpt, safe_load=True)
    comfy.utils.load_torch_file(ckpt, safe_load=True)
    assert comfy.utils.reads == [ckpt, ckpt]


def test_safetensors_are_left_to_mmap_and_counted(comfy_stubs, tmp_path):
    import comfy.utils

    mmap_loads = MmapLoads()
    patch_load_torch_file(comfy.utils, new_weights_cache(max_bytes=10_000), mmap_loads)
    ckpt = write(tmp_path / "model.safetensors")
    first, second = comfy.utils.load_torch_file(ckpt), comfy.utils.load_torch_file(ckpt)
    assert comfy.utils.reads == [ckpt, ckpt] and mmap_loads.count == 2
    assert first["weight"] is not second["weight"]  # stock: separate tensors over one page cache


def test_with_mmap_disabled_safetensors_are_cached(comfy_stubs, tmp_path):
    import comfy.utils

    comfy.utils.DISABLE_MMAP = True
    patch_load_torch_file(comfy.utils, new_weights_cache(max_bytes=10_000))
    ckpt = write(tmp_path / "model.sft")
    comfy.utils.load_torch_file(ckpt)
    comfy.utils.load_torch_file(ckpt)
    assert comfy.utils.reads == [ckpt]
