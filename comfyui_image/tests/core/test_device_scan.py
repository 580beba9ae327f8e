"""The device scanner on small custom-node sources written to tmp_path; findings are compared exactly."""
import os
import textwrap
from pathlib import Path
from typing import List, Tuple

import pytest

from multigpu.core import device_scan
from multigpu.core.device_scan import (
    CUDA_CALL,
    DEFAULT_ARG_DEVICE,
    DEVICE_STRING,
    IMPORT_TIME_DEVICE,
    SET_DEVICE,
    TOO_LARGE,
    UNPARSABLE,
    custom_nodes_in,
    format_findings,
    scan_paths,
)


def write_node(root: Path, name: str, files: dict) -> Path:
    node = root / name
    for relative, source in files.items():
        path = node / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip("\n"))
    return node


def kinds_by_line(node: Path) -> List[Tuple[int, str]]:
    return [(f.line, f.kind) for f in scan_paths([str(node)])]


def test_device_strings_passed_as_a_device_are_found(tmp_path):
    node = write_node(tmp_path, "strings", {"nodes.py": """
        import torch
        a = torch.device("cuda:0")
        b = x.to("cuda")
        c = torch.zeros(3, device="cuda:1")
        d = torch.load(path, map_location="cuda" if ok else "cpu")
        self.device = "cuda"
        def load(path, device="cuda:2"):
            pass
    """})
    assert kinds_by_line(node) == [(2, DEVICE_STRING), (3, DEVICE_STRING), (4, DEVICE_STRING),
                                   (5, DEVICE_STRING), (6, DEVICE_STRING), (7, DEVICE_STRING)]


def test_the_reason_names_the_pinned_gpu_and_the_fix(tmp_path):
    node = write_node(tmp_path, "reason", {"nodes.py": 'dev = torch.device("cuda:3")\n'})
    [finding] = scan_paths([str(node)])
    assert finding.col == 7
    assert finding.reason == ('torch.device("cuda:3") hard-codes GPU 3; '
                              "call comfy.model_management.get_torch_device() when the node runs")


def test_cuda_strings_that_are_not_devices_are_ignored(tmp_path):
    node = write_node(tmp_path, "quiet", {"nodes.py": """
        import logging, torch
        logging.info("moving the model to cuda")
        print("cuda:0")
        if device == "cuda" or torch.cuda.is_available():
            kind = "cuda"
        cpu = torch.device("cpu")
        label = {"device": "cuda"}
    """})
    assert kinds_by_line(node) == []


def test_cuda_calls_and_set_device_are_found(tmp_path):
    node = write_node(tmp_path, "calls", {"nodes.py": """
        import torch
        def run(model, x):
            model.cuda()
            x = x.cuda(1)
            torch.cuda.set_device(0)
            torch.set_default_device("cpu")
    """})
    assert kinds_by_line(node) == [(3, CUDA_CALL), (4, CUDA_CALL), (5, SET_DEVICE), (6, SET_DEVICE)]


def test_a_device_cached_at_import_or_in_a_class_body_is_found(tmp_path):
    node = write_node(tmp_path, "cached", {"nodes.py": """
        import torch
        import comfy.model_management
        from comfy import model_management as mm
        DEVICE = comfy.model_management.get_torch_device()
        if torch.cuda.is_available():
            INDEX = torch.cuda.current_device()
        DEVICES = {"main": mm.get_torch_device()}
        ON_DEMAND = lambda: mm.get_torch_device()
        class Loader:
            device: torch.device = torch.device(INDEX)
    """})
    assert kinds_by_line(node) == [(4, IMPORT_TIME_DEVICE), (6, IMPORT_TIME_DEVICE),
                                   (7, IMPORT_TIME_DEVICE), (10, IMPORT_TIME_DEVICE)]


def test_a_device_looked_up_inside_a_function_is_not_flagged(tmp_path):
    node = write_node(tmp_path, "per_call", {"nodes.py": """
        import comfy.model_management as model_management
        class Sampler:
            def sample(self, latent):
                device = model_management.get_torch_device()
                class Local:
                    device = model_management.get_torch_device()
                def inner(d=model_management.get_torch_device()):
                    return d
                return latent.to(device)
    """})
    assert kinds_by_line(node) == []


def test_default_arguments_evaluated_at_def_time_are_found(tmp_path):
    node = write_node(tmp_path, "defaults", {"nodes.py": """
        import comfy.model_management as model_management
        def encode(x, device=model_management.get_torch_device()):
            return x
        class Node:
            async def run(self, *, device=model_management.get_torch_device()):
                return device
    """})
    findings = scan_paths([str(node)])
    assert [(f.line, f.kind) for f in findings] == [(2, DEFAULT_ARG_DEVICE), (5, DEFAULT_ARG_DEVICE)]
    assert "default to None" in findings[0].reason


def test_a_file_with_a_syntax_error_is_reported_not_raised(tmp_path):
    node = write_node(tmp_path, "broken", {"ok.py": "x = 1\n", "bad.py": "def broken(:\n    pass\n"})
    [finding] = scan_paths([str(node)])
    assert (finding.path, finding.line, finding.kind) == (str(node / "bad.py"), 1, UNPARSABLE)
    assert finding.reason.startswith("could not parse (SyntaxError")


def test_files_over_the_size_limit_are_skipped_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setattr(device_scan, "MAX_FILE_BYTES", 10)
    node = write_node(tmp_path, "huge", {"generated.py": 'DEVICE = "cuda:0"  # long enough\n'})
    assert kinds_by_line(node) == [(1, TOO_LARGE)]


def test_caches_tests_hidden_folders_and_links_out_of_the_tree_are_skipped(tmp_path):
    outside = write_node(tmp_path, "outside", {"evil.py": "model.cuda()\n"})
    node = write_node(tmp_path / "custom_nodes", "walker", {
        "__pycache__/a.py": "model.cuda()\n",
        "tests/test_a.py": "model.cuda()\n",
        ".git/hooks/b.py": "model.cuda()\n",
        "pkg/real.py": "model.cuda()\n",
        "notes.txt": "model.cuda()\n",
    })
    os.symlink(outside / "evil.py", node / "linked_file.py")
    os.symlink(outside, node / "linked_folder")
    os.symlink(node / "pkg" / "real.py", node / "inside_link.py")
    findings = scan_paths([str(node)])
    assert [f.path for f in findings] == [str(node / "inside_link.py"), str(node / "pkg" / "real.py")]


def test_custom_nodes_in_lists_what_comfyui_loads(tmp_path):
    for folder in ("b_node", "a_node", "off.disabled", "__pycache__", ".hidden"):
        (tmp_path / folder).mkdir()
    (tmp_path / "single.py").write_text("")
    (tmp_path / "README.md").write_text("")
    assert custom_nodes_in(str(tmp_path)) == [str(tmp_path / n) for n in ("a_node", "b_node", "single.py")]


def test_a_missing_custom_node_path_names_the_input(tmp_path):
    with pytest.raises(ValueError, match="missing.*neither a folder nor a .py file"):
        scan_paths([str(tmp_path / "missing")])


def test_the_report_groups_by_node_and_ends_with_a_summary(tmp_path):
    root = tmp_path / "custom_nodes"
    write_node(root, "ComfyUI-Good", {"nodes.py": "def f(mm):\n    return mm.get_torch_device()\n"})
    write_node(root, "ComfyUI-Pinned", {"nodes.py": "x = y.to('cuda:0')\nz.cuda()\n"})
    write_node(root, "ComfyUI-Broken", {"nodes.py": "def (\n"})
    (root / "single_file.py").write_text("DEVICE = 'cuda'\n")
    nodes = custom_nodes_in(str(root))
    report = format_findings(scan_paths(nodes), len(nodes))
    pinned, single = root / "ComfyUI-Pinned" / "nodes.py", root / "single_file.py"
    assert report.splitlines()[0] == "ComfyUI-Broken:"
    assert report.splitlines()[2:] == [
        "ComfyUI-Pinned:",
        f"  {pinned}:1:5 device-string: y.to('cuda:0') hard-codes GPU 0; "
        "call comfy.model_management.get_torch_device() when the node runs",
        f"  {pinned}:2:1 cuda-call (safe on a worker thread): z.cuda() moves to the thread's current CUDA device; "
        "on a worker thread that is its own GPU (each worker sets its current device)",
        "single_file.py:",
        f"  {single}:1:10 device-string (safe on a worker thread): 'cuda' stores the thread's current CUDA device "
        "as the device; on a worker thread that is its own GPU (each worker sets its current device)",
        "4 custom nodes scanned, 1 with hard-coded devices: ComfyUI-Pinned; 1 more use only the thread's "
        "current device (safe on a worker thread): single_file.py",
    ]


def test_bare_cuda_and_cuda_calls_without_an_index_are_safe_on_a_worker_thread(tmp_path):
    node = write_node(tmp_path, "mixed", {"nodes.py": """
        import torch
        a = x.to("cuda")
        b = x.to("cuda:1")
        c = x.cuda()
        d = x.cuda(0)
        DEVICE = "cuda"
        torch.cuda.set_device(0)
    """})
    safe = [(f.line, f.safe_on_worker) for f in scan_paths([str(node)])]
    assert safe == [(2, True), (3, False), (4, True), (5, False), (6, True), (7, False)]
    assert [f.line for f in device_scan.unsafe(scan_paths([str(node)]))] == [3, 5, 7]
    safe_only = write_node(tmp_path / "other", "safe", {"nodes.py": "model.cuda()\n"})
    assert device_scan.main(["--strict", str(safe_only.parent)]) == 0


def test_the_summary_of_a_clean_scan_lists_no_names():
    assert format_findings([], 3) == "3 custom nodes scanned, 0 with hard-coded devices"


def test_the_command_line_exits_nonzero_only_when_strict(tmp_path, capsys):
    write_node(tmp_path, "pinned", {"nodes.py": "model.cuda(0)\n"})
    assert device_scan.main([str(tmp_path)]) == 0
    assert device_scan.main(["--strict", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "1 custom nodes scanned, 1 with hard-coded devices: pinned"
