"""Find custom-node code that hard-codes a CUDA device, by reading its syntax tree (nothing is imported).

One ComfyUI process drives every GPU from one worker thread per GPU, so a custom node must ask
`comfy.model_management.get_torch_device()` each time it runs. A node that writes "cuda:0", calls
`.cuda(0)`, sets the device or caches a looked-up device at import time sends every GPU's work to
one GPU. A bare "cuda" or `.cuda()` means the thread's current CUDA device, which each worker sets
to its GPU (and passes to threads it starts): those findings are marked safe on a worker thread
and are not counted as hard-coded.

Usage: python -m multigpu.core.device_scan [--strict] [CUSTOM_NODES_DIR ...]
"""
from __future__ import annotations

import ast
import os
import re
import sys
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence

# Kinds of finding. The last two are notes: the file was not checked, so a person should read it.
DEVICE_STRING = "device-string"  # "cuda" / "cuda:N" passed or stored as a device
CUDA_CALL = "cuda-call"  # tensor.cuda() or tensor.cuda(N)
SET_DEVICE = "set-device"  # torch.cuda.set_device(...), torch.set_default_device(...)
IMPORT_TIME_DEVICE = "import-time-device"  # module- or class-level variable holding a device
DEFAULT_ARG_DEVICE = "default-arg-device"  # default argument evaluated once, when `def` runs
UNPARSABLE = "unparsable"
TOO_LARGE = "too-large"
NOTE_KINDS = frozenset({UNPARSABLE, TOO_LARGE})

# Generated or vendored files past this size are skipped: parsing them is slow and they rarely hold node code.
MAX_FILE_BYTES = 2 * 1024 * 1024
# Not loaded by ComfyUI at run time, or not ours to read.
SKIPPED_DIRS = frozenset({"__pycache__", "tests", "test", "node_modules"})
# Keyword arguments whose value is a device (torch, diffusers and transformers spellings).
DEVICE_KEYWORDS = frozenset({"device", "map_location", "device_map"})
CUDA_LITERAL = re.compile(r"cuda(:\d+)?")
CALL_TIME_HINT = "call comfy.model_management.get_torch_device() when the node runs"
SAFE_LABEL = "safe on a worker thread"
SAFE_WHY = "on a worker thread that is its own GPU (each worker sets its current device)"


@dataclass(frozen=True)
class DeviceFinding:
    node: str  # custom node folder (or single-file node) the file belongs to
    path: str
    line: int  # 1-based
    col: int  # 1-based, as editors show it
    kind: str
    reason: str
    safe_on_worker: bool = False  # resolves to the thread's current device when it runs


def custom_nodes_in(custom_nodes_dir: str) -> List[str]:
    """The custom nodes ComfyUI would load from this folder: sub-folders and .py files, minus disabled ones."""
    if not os.path.isdir(custom_nodes_dir):
        raise ValueError(f"custom nodes folder {custom_nodes_dir!r} does not exist; pass ComfyUI's custom_nodes path")
    names = sorted(os.listdir(custom_nodes_dir))
    return [
        os.path.join(custom_nodes_dir, name)
        for name in names
        if name not in SKIPPED_DIRS and not name.startswith(".") and not name.endswith(".disabled")
        and (name.endswith(".py") or os.path.isdir(os.path.join(custom_nodes_dir, name)))
    ]


def scan_paths(paths: Iterable[str]) -> List[DeviceFinding]:
    """Scan each custom node (a folder or a single .py file) and return its findings, sorted by place."""
    findings: List[DeviceFinding] = []
    for node_path in paths:
        node = os.path.basename(os.path.normpath(node_path))
        for path in _python_files(node_path):
            findings.extend(_scan_file(node, path))
    return sorted(findings, key=lambda f: (f.node, f.path, f.line, f.col, f.kind))


def format_findings(findings: Sequence[DeviceFinding], nodes_scanned: int) -> str:
    """A report grouped by custom node, ending with one summary line."""
    lines: List[str] = []
    by_node = {}
    for finding in findings:
        by_node.setdefault(finding.node, []).append(finding)
    for node in sorted(by_node):
        lines.append(f"{node}:")
        for f in by_node[node]:
            label = f" ({SAFE_LABEL})" if f.safe_on_worker else ""
            lines.append(f"  {f.path}:{f.line}:{f.col} {f.kind}{label}: {f.reason}")
    flagged = sorted({f.node for f in unsafe(findings)})
    summary = f"{nodes_scanned} custom nodes scanned, {len(flagged)} with hard-coded devices"
    summary += ": " + ", ".join(flagged) if flagged else ""
    safe_only = sorted({f.node for f in findings if f.safe_on_worker} - set(flagged))
    if safe_only:
        summary += f"; {len(safe_only)} more use only the thread's current device ({SAFE_LABEL}): "
        summary += ", ".join(safe_only)
    lines.append(summary)
    return "\n".join(lines)


def unsafe(findings: Sequence[DeviceFinding]) -> List[DeviceFinding]:
    """The findings that put work on the wrong GPU even on a worker thread."""
    return [f for f in findings if f.kind not in NOTE_KINDS and not f.safe_on_worker]


def _python_files(node_path: str) -> List[str]:
    if os.path.isfile(node_path):
        return [node_path] if node_path.endswith(".py") else []
    if not os.path.isdir(node_path):
        raise ValueError(f"custom node {node_path!r} is neither a folder nor a .py file; pass custom_nodes entries")
    root = os.path.realpath(node_path)
    files = []
    # followlinks=False: a symlinked folder is not entered; a symlinked file counts only if it stays in the node.
    for folder, dirs, names in os.walk(node_path, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(names):
            path = os.path.join(folder, name)
            if name.endswith(".py") and os.path.commonpath([root, os.path.realpath(path)]) == root:
                files.append(path)
    return files


def _scan_file(node: str, path: str) -> List[DeviceFinding]:
    try:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            reason = f"skipped: {size} bytes is over the {MAX_FILE_BYTES}-byte limit; read it by hand"
            return [DeviceFinding(node, path, 1, 1, TOO_LARGE, reason)]
        with open(path, "rb") as handle:
            source = handle.read()
    except OSError as error:  # a dangling symlink or an unreadable file
        return [DeviceFinding(node, path, 1, 1, UNPARSABLE, f"could not read ({error.strerror}); read it by hand")]
    try:
        visitor = _DeviceVisitor(node, path, source.decode("utf-8", errors="replace"))
        visitor.visit(ast.parse(source, filename=path))
    except (SyntaxError, ValueError, RecursionError) as error:  # RecursionError: expressions nested too deep
        line = getattr(error, "lineno", None) or 1
        reason = f"could not parse ({type(error).__name__}: {getattr(error, 'msg', error)}); read it by hand"
        return [DeviceFinding(node, path, line, 1, UNPARSABLE, reason)]
    return visitor.findings


def _dotted(node: ast.AST) -> str:
    """`torch.cuda.set_device` for that attribute chain, '' for anything else."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return ""
    parts.append(node.id)
    return ".".join(reversed(parts))


def _cuda_literal(node: Optional[ast.AST]) -> Optional[str]:
    """The "cuda"/"cuda:N" string this expression can evaluate to, looking into `a if c else b`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and CUDA_LITERAL.fullmatch(node.value):
        return node.value
    if isinstance(node, ast.IfExp):
        return _cuda_literal(node.body) or _cuda_literal(node.orelse)
    return None


def _is_device_lookup(call: ast.Call) -> bool:
    """A call whose result is a device: get_torch_device(), torch.cuda.current_device(), torch.device(x)."""
    name = _dotted(call.func)
    if name == "get_torch_device" or name.endswith(".get_torch_device") or name.endswith("cuda.current_device"):
        return True
    # torch.device("cpu") is harmless and torch.device("cuda:0") is already a device-string finding.
    first = call.args[0] if call.args else None
    is_literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
    return name == "torch.device" and not is_literal


def _device_lookups(expr: ast.AST) -> List[ast.Call]:
    """Device lookups evaluated right away when `expr` runs (a lambda's body runs later, so it is skipped)."""
    found, pending = [], [expr]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.Call) and _is_device_lookup(node):
            found.append(node)
        pending.extend(ast.iter_child_nodes(node))
    return found


def _gpu_words(literal: str) -> str:
    return f"GPU {literal.split(':')[1]}" if ":" in literal else "the thread's current CUDA device"


def _is_bare(literal: str) -> bool:
    return ":" not in literal


def _hint(literal: str) -> str:
    return SAFE_WHY if _is_bare(literal) else CALL_TIME_HINT


class _DeviceVisitor(ast.NodeVisitor):
    def __init__(self, node: str, path: str, source: str) -> None:
        self.findings: List[DeviceFinding] = []
        self._node, self._path, self._source = node, path, source
        # Statements at depth 0 run at import (module body, class bodies); deeper ones run per call.
        self._function_depth = 0

    def _add(self, at: ast.AST, kind: str, why: str, safe: bool = False) -> None:
        snippet = (ast.get_source_segment(self._source, at) or "").split("\n")[0][:80]
        line, col = getattr(at, "lineno", 1), getattr(at, "col_offset", 0) + 1
        self.findings.append(DeviceFinding(self._node, self._path, line, col, kind, f"{snippet} {why}", safe))

    def visit_FunctionDef(self, node: ast.AST) -> None:
        self._check_defaults(node.args)  # defaults are evaluated in the enclosing scope, when `def` runs
        self._function_depth += 1
        self.generic_visit(node)
        self._function_depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_Lambda = visit_FunctionDef

    def visit_Assign(self, node: ast.Assign) -> None:
        self._check_assignment(node.targets, node.value)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._check_assignment([node.target], node.value)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = _dotted(node.func)
        attr = node.func.attr if isinstance(node.func, ast.Attribute) else ""
        first = node.args[0] if node.args else None
        if attr in ("device", "to") or name == "device":
            literal = _cuda_literal(first)
            if literal:
                self._add(node, DEVICE_STRING, f"hard-codes {_gpu_words(literal)}; {_hint(literal)}",
                          _is_bare(literal))
        for keyword in node.keywords:
            literal = _cuda_literal(keyword.value) if keyword.arg in DEVICE_KEYWORDS else None
            if literal:
                why = f"as {keyword.arg}= hard-codes {_gpu_words(literal)}; {_hint(literal)}"
                self._add(keyword.value, DEVICE_STRING, why, _is_bare(literal))
        if attr == "cuda" and name != "torch.cuda":
            if node.args:
                self._add(node, CUDA_CALL, "moves to that GPU; use .to(comfy.model_management.get_torch_device())")
            else:
                self._add(node, CUDA_CALL, f"moves to the thread's current CUDA device; {SAFE_WHY}", True)
        if name.endswith("cuda.set_device") or name == "torch.set_default_device":
            self._add(node, SET_DEVICE, "changes the device that the worker threads choose themselves; remove it")
        self.generic_visit(node)

    def _check_assignment(self, targets: List[ast.expr], value: Optional[ast.expr]) -> None:
        literal = _cuda_literal(value)
        if literal and any("device" in _dotted(t).lower() for t in targets):
            self._add(value, DEVICE_STRING, f"stores {_gpu_words(literal)} as the device; {_hint(literal)}",
                      _is_bare(literal))
        if self._function_depth == 0 and value is not None:
            why = f"runs once at import, so every GPU thread shares one device; {CALL_TIME_HINT}"
            for call in _device_lookups(value):
                self._add(call, IMPORT_TIME_DEVICE, why)

    def _check_defaults(self, args: ast.arguments) -> None:
        positional = args.posonlyargs + args.args
        pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
        pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
        for arg, default in pairs:
            literal = _cuda_literal(default)
            if literal and "device" in arg.arg.lower():
                why = f"as the default of {arg.arg} hard-codes {_gpu_words(literal)}; {_hint(literal)}"
                self._add(default, DEVICE_STRING, why, _is_bare(literal))
            if self._function_depth == 0:
                why = f"as the default of {arg.arg} runs once, at import; default to None and {CALL_TIME_HINT}"
                for call in _device_lookups(default):
                    self._add(call, DEFAULT_ARG_DEVICE, why)


def main(argv: Sequence[str]) -> int:
    strict = "--strict" in argv
    folders = [a for a in argv if a != "--strict"] or ["/opt/comfyui/custom_nodes"]
    nodes = [node for folder in folders for node in custom_nodes_in(folder)]
    findings = scan_paths(nodes)
    print(format_findings(findings, len(nodes)))
    # Without --strict the report is advice: an image build should not fail on a node that may never run.
    return 1 if strict and unsafe(findings) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
