"""The core imports neither torch, ComfyUI nor aiohttp; http imports no torch or ComfyUI."""
import ast
import pathlib
import subprocess
import sys

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "multigpu"
COMFY_MODULES = {"torch", "comfy", "comfy_execution", "execution", "server", "folder_paths",
                 "nodes", "comfy_extras", "comfy_api"}


def imported_roots(path: pathlib.Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def test_core_modules_import_no_torch_comfyui_or_aiohttp():
    for path in sorted((PACKAGE / "core").glob("*.py")):
        bad = set(imported_roots(path)) & (COMFY_MODULES | {"aiohttp"})
        assert not bad, f"{path.name} imports {sorted(bad)}"


def test_http_and_front_modules_import_no_torch_or_comfyui():
    for path in sorted([*(PACKAGE / "http").glob("*.py"), *(PACKAGE / "front").glob("*.py")]):
        bad = set(imported_roots(path)) & COMFY_MODULES
        assert not bad, f"{path.name} imports {sorted(bad)}"


def test_importing_the_whole_core_loads_none_of_them_at_runtime():
    code = (
        "import sys, pkgutil, importlib, multigpu.core as c\n"
        "for m in pkgutil.iter_modules(c.__path__): importlib.import_module('multigpu.core.' + m.name)\n"
        "print(sorted(k for k in sys.modules if k.split('.')[0] in %r))" % (COMFY_MODULES | {"aiohttp"},)
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=PACKAGE.parent, check=True).stdout
    assert out.strip() == "[]"
