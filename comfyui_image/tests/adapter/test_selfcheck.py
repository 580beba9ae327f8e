"""The build-time self-check passes on ComfyUI-shaped modules and names every broken assumption."""
import os
import shutil
import subprocess
import sys

from multigpu.comfy_adapter.selfcheck import check_source_function, run_checks
from multigpu.comfy_adapter.symbols import CLI_ARGS, SOURCE_FUNCTIONS, SYMBOLS, SourceFunction, Symbol

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_every_symbol_and_main_py_function_is_found_in_the_stubs(comfy_stubs):
    lines = []
    assert run_checks(comfy_stubs, out=lines.append) == []
    assert len(lines) == len(SYMBOLS) + len(SOURCE_FUNCTIONS) + len(CLI_ARGS)
    assert all(line.startswith("ok ") for line in lines)


def test_a_missing_function_fails_naming_module_and_attribute(comfy_stubs):
    import comfy.model_management as mm

    del mm.soft_empty_cache
    failures = run_checks(comfy_stubs, symbols=[Symbol("comfy.model_management", "soft_empty_cache", ("force",))],
                          sources=[], out=lambda line: None)
    assert failures == ["comfy.model_management has no soft_empty_cache (missing 'soft_empty_cache')"]


def test_an_option_whose_value_changed_shape_fails_naming_it_and_its_reader(comfy_stubs, monkeypatch):
    # ComfyUI v0.33.0 made --cache-ram a list (nargs='*', default []): every name still exists, but
    # the adapter's cache_settings compared it with 0 and each worker failed its warm-up (CPU rehearsal).
    import comfy.cli_args

    monkeypatch.setattr(comfy.cli_args.args, "cache_ram", [])
    failures = run_checks(comfy_stubs, symbols=[], sources=[], out=lambda line: None)
    assert failures == ["comfy.cli_args.args.cache_ram is list ([]), but prompt_executor.py cache_settings "
                        "handles int or float"]


def test_a_changed_signature_fails_showing_actual_and_expected_parameters(comfy_stubs):
    import folder_paths

    folder_paths.get_save_image_path = lambda prefix, out_dir: None
    lines = []
    failures = run_checks(comfy_stubs, symbols=[s for s in SYMBOLS if s.module == "folder_paths"],
                          sources=[], out=lines.append)
    assert len(failures) == 1
    assert "folder_paths.get_save_image_path parameters are (prefix, out_dir)" in failures[0]
    assert "filename_prefix, output_dir, image_width, image_height" in failures[0]
    assert lines[0].startswith("FAIL  folder_paths.get_save_image_path")


def test_a_main_py_that_no_longer_calls_add_routes_fails(tmp_path):
    (tmp_path / "main.py").write_text("def start_comfyui(asyncio_loop=None):\n    pass\n")
    spec = SourceFunction("main.py", "start_comfyui", ("asyncio_loop",), ("add_routes",))
    assert check_source_function(str(tmp_path), spec) == "main.py:start_comfyui no longer calls add_routes"


def test_command_line_exits_0_on_the_stubs_and_1_naming_the_symbol_on_a_broken_copy(comfy_stubs, tmp_path):
    command = [sys.executable, "-m", "multigpu.comfy_adapter.selfcheck", "--comfyui"]
    ok = subprocess.run(command + [comfy_stubs], cwd=PACKAGE_ROOT, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "All assumptions hold." in ok.stdout

    broken = tmp_path / "comfyui"
    shutil.copytree(comfy_stubs, broken)
    utils = broken / "comfy" / "utils.py"
    utils.write_text(utils.read_text().replace("def load_torch_file(ckpt,", "def load_torch_file(path,"))
    bad = subprocess.run(command + [str(broken)], cwd=PACKAGE_ROOT, capture_output=True, text=True)
    assert bad.returncode == 1
    assert "FAIL  comfy.utils.load_torch_file" in bad.stdout
    assert "1 broken assumption(s)" in bad.stdout
