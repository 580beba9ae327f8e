"""Put the ComfyUI stand-ins (stubs/) on sys.path for one test, then forget them again, so
every test patches freshly imported modules."""
import os
import sys

import pytest

STUBS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stubs")
STUB_MODULES = ("torch", "comfy", "comfy_execution", "comfy_extras", "execution", "server",
               "folder_paths", "nodes", "hook_breaker_ac10a0", "main", "utils", "onnxruntime",
               "latent_preview")


def _forget_stub_modules():
    for name in list(sys.modules):
        if name.split(".")[0] in STUB_MODULES:
            del sys.modules[name]


@pytest.fixture
def comfy_stubs():
    _forget_stub_modules()
    sys.path.insert(0, STUBS)
    try:
        yield STUBS
    finally:
        sys.path.remove(STUBS)
        _forget_stub_modules()
