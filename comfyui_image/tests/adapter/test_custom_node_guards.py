"""Custom nodes with process-global state (issue 22 item 3): a node pack that replaces a patched
function makes the pod not ready, naming the pack; a model created for another GPU fails the
prompt with the reason; onnxruntime CUDA sessions created on a worker use its GPU."""
import importlib.util
import sys

import pytest

from multigpu.comfy_adapter.install import install
from multigpu.comfy_adapter.placement import ModelOnAnotherGpuError, bind_providers
from thread_runner import run_on_gpu


@pytest.fixture
def installed(comfy_stubs):
    installation = install(comfy_stubs, 2, weights_cache_bytes=0, warmup_timeout_s=10,
                           install_routes=lambda app, pool: None)
    import comfy.model_management  # noqa: F401  (patched on import)
    import server

    prompt_server = server.PromptServer(loop=None)
    try:
        yield installation, prompt_server
    finally:
        installation.uninstall()
        installation.pool.stop()


def load_custom_node(tmp_path, pack, source):
    """As nodes.py load_custom_node does: by file path, under custom_nodes/<pack>/."""
    path = tmp_path / "custom_nodes" / pack / "__init__.py"
    path.parent.mkdir(parents=True)
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(str(path.parent), str(path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)


def test_a_node_pack_replacing_get_torch_device_makes_the_pod_not_ready_and_is_named(installed, tmp_path):
    installation, prompt_server = installed
    load_custom_node(tmp_path, "ComfyUI-MultiGPU", (
        "import comfy.model_management as mm\n"
        "def get_torch_device():\n"
        "    return 'cuda:0'\n"
        "mm.get_torch_device = get_torch_device\n"))
    prompt_server.add_routes()  # custom nodes loaded: the pool starts
    assert installation.pool.wait_until_warm(5)
    ready, reason = installation.pool.readiness()
    assert not ready
    assert "custom node pack 'ComfyUI-MultiGPU' replaced comfy.model_management.get_torch_device" in reason


def test_a_node_pack_replacing_a_preview_function_is_logged_but_the_pod_stays_ready(installed, tmp_path, caplog):
    installation, prompt_server = installed
    import latent_preview

    patched = [name for name, value in vars(latent_preview).items() if callable(value) and not name.startswith("_")]
    assert patched, "the stub latent_preview has functions the adapter patches"
    load_custom_node(tmp_path, "ComfyUI-PreviewPack", "".join(
        f"import latent_preview\nlatent_preview.{name} = lambda *a, **k: None\n" for name in patched))
    prompt_server.add_routes()
    assert installation.pool.wait_until_warm(5)
    assert installation.pool.readiness() == (True, "2 GPUs ready")
    assert "custom node pack 'ComfyUI-PreviewPack' replaced latent_preview." in caplog.text


def test_without_such_a_node_the_pod_is_ready(installed):
    installation, prompt_server = installed
    prompt_server.add_routes()
    assert installation.pool.wait_until_warm(5)
    assert installation.pool.readiness() == (True, "2 GPUs ready")


def test_replacing_a_patched_class_attribute_is_caught_too(installed, tmp_path):
    installation, prompt_server = installed
    load_custom_node(tmp_path, "Wrapper", (
        "import comfy.model_management as mm\n"
        "mm.LoadedModel.is_dead = lambda self: False\n"))
    prompt_server.add_routes()
    assert installation.pool.wait_until_warm(5)
    assert "custom node pack 'Wrapper' replaced comfy.model_management.LoadedModel.is_dead" in \
        installation.pool.readiness()[1]


def test_a_model_created_for_another_gpu_fails_the_prompt_with_the_reason(installed):
    import comfy.model_management as mm
    import torch

    class TorchModule:
        pass

    class Patcher:
        def __init__(self, device):
            self.load_device, self.model = device, TorchModule()

    cached_by_a_node = Patcher(torch.device("cuda", 0))  # loaded on GPU 0, kept in a module global
    with pytest.raises(ModelOnAnotherGpuError, match="belongs to GPU 0 but this prompt runs on GPU 1"):
        run_on_gpu(1, lambda: mm.load_models_gpu([cached_by_a_node]))
    run_on_gpu(0, lambda: mm.load_models_gpu([cached_by_a_node]))  # its own GPU: fine
    run_on_gpu(1, lambda: mm.load_models_gpu([Patcher(torch.device("cuda"))]))  # bare "cuda": current device


def test_onnxruntime_cuda_sessions_created_on_a_worker_use_its_gpu(installed):
    import onnxruntime

    def create():
        return onnxruntime.InferenceSession("dwpose.onnx", providers=["CUDAExecutionProvider",
                                                                      "CPUExecutionProvider"])

    session = run_on_gpu(1, create)
    assert session.providers == [("CUDAExecutionProvider", {"device_id": 1}), ("CPUExecutionProvider", {})]
    assert create().providers == ["CUDAExecutionProvider", "CPUExecutionProvider"]  # off the workers: as asked


def test_provider_options_and_an_explicit_device_id_are_folded_into_the_workers_gpu():
    providers, options = bind_providers(["CUDAExecutionProvider", "CPUExecutionProvider"],
                                        [{"device_id": 0, "arena_extend_strategy": "kSameAsRequested"}, {}], 3)
    assert providers == [("CUDAExecutionProvider", {"device_id": 3, "arena_extend_strategy": "kSameAsRequested"}),
                         ("CPUExecutionProvider", {})]
    assert options is None
    assert bind_providers(["CPUExecutionProvider"], None, 3) == (["CPUExecutionProvider"], None)


def test_onnxruntime_is_an_optional_patch_not_a_missing_one(installed):
    installation, _ = installed
    assert "onnxruntime" not in installation.hooks.pending()


def test_settings_a_patch_also_sets_may_change_later_without_making_the_pod_unready(comfy_stubs):
    import types

    from multigpu.comfy_adapter.patch_guard import PatchGuard

    module = types.ModuleType("settings_module")
    module.preview_method, module.helper = "auto", lambda: None

    def patch(m):
        m.preview_method = ("latent2rgb",)  # a setting (not a function) the patch chose
        m.helper = lambda: "ours"

    guard = PatchGuard()
    guard.record_changes(module, patch)
    module.preview_method = ("taesd",)  # stock code changing its own setting
    assert guard.problem() is None
    module.helper = lambda: "theirs"
    assert "replaced settings_module.helper" in guard.problem()
