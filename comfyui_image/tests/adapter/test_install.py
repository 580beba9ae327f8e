"""install() end to end on the stubs: patches apply on import, the pool starts with the server,
and the port opens only after every GPU warmed up."""
import asyncio
import time

import pytest

from multigpu.comfy_adapter.install import install


@pytest.fixture
def installed(comfy_stubs):
    routes = []
    installation = install(comfy_stubs, 2, weights_cache_bytes=1 << 20, warmup_timeout_s=10,
                           install_routes=lambda app, pool: routes.append(app))
    try:
        yield installation, routes
    finally:
        installation.uninstall()
        installation.pool.stop()


def wait_for(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_modules_are_patched_as_comfyui_imports_them(installed):
    installation, _ = installed
    import comfy.model_management as mm
    import comfy.utils
    import execution

    assert installation.hooks.pending() == ["comfy.ldm.modules.diffusionmodules.upscaling", "comfy.sample",
                                            "comfy.samplers", "comfy_execution.graph_utils",
                                            "comfy_execution.progress", "folder_paths", "server"]
    assert mm.get_torch_device._multigpu_original
    assert comfy.utils.load_torch_file._multigpu_original
    assert execution.PromptQueue.pool is installation.pool


def test_a_prompt_runs_on_a_gpu_worker_and_lands_in_history(installed):
    installation, routes = installed
    import server

    prompt_server = server.PromptServer(loop=None)
    prompt_server.add_routes()
    assert routes == [prompt_server.app]
    assert installation.pool.wait_until_warm(5)
    prompt = {"1": {"class_type": "Noop", "inputs": {}}}
    prompt_server.prompt_queue.put((0, "p1", prompt, {"client_id": "alice"}, ["1"], {}))
    wait_for(lambda: prompt_server.prompt_queue.get_history("p1"))
    entry = prompt_server.prompt_queue.get_history("p1")["p1"]
    assert entry["status"]["status_str"] == "success"
    wait_for(lambda: ("executing", {"node": None, "prompt_id": "p1"}, "alice") in prompt_server.sent)
    assert any(event == "status" for event, _, _ in prompt_server.sent)  # queue_updated reached clients


def test_the_server_listens_only_after_every_gpu_warmed_up(installed):
    installation, _ = installed
    import server

    prompt_server = server.PromptServer(loop=None)
    prompt_server.add_routes()
    asyncio.run(prompt_server.start_multi_address([("0.0.0.0", 8188)]))
    assert prompt_server.listening_on == [("0.0.0.0", 8188)]
    assert installation.pool.readiness() == (True, "2 GPUs ready")


def test_loads_through_the_patched_loader_show_on_metrics(installed, tmp_path):
    installation, _ = installed
    import comfy.utils

    model = tmp_path / "m.pt"
    model.write_bytes(b"weights")
    for _ in range(3):
        comfy.utils.load_torch_file(str(model))
    (tmp_path / "m.safetensors").write_bytes(b"weights")
    comfy.utils.load_torch_file(str(tmp_path / "m.safetensors"))
    text = installation.pool.metrics.exposition()[0].decode()
    assert "comfyui_weights_cache_disk_reads_total 1.0" in text.splitlines()
    assert "comfyui_weights_cache_ram_hits_total 2.0" in text.splitlines()
    assert "comfyui_weights_cache_mmap_loads_total 1.0" in text.splitlines()


def test_without_a_cache_no_cache_series_are_exposed(comfy_stubs):
    installation = install(comfy_stubs, 1, weights_cache_bytes=0, install_routes=lambda app, pool: None)
    try:
        assert b"comfyui_weights_cache" not in installation.pool.metrics.exposition()[0]
    finally:
        installation.uninstall()


def test_install_names_the_directory_when_main_py_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        install(str(tmp_path), 2, weights_cache_bytes=0)
