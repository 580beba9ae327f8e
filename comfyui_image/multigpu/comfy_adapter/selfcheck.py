"""Check that a ComfyUI checkout still has everything symbols.py lists.

    python -m multigpu.comfy_adapter.selfcheck --comfyui /opt/comfyui

Runs during the image build (no GPU: ComfyUI is imported with --cpu). Prints one line per check
and exits 1 naming every broken assumption, so a ComfyUI upgrade that renames or re-signs a
function fails the build instead of a prompt in production.
"""
from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import os
import sys
from typing import Iterable, List, Optional, Sequence, Tuple, Union

from .pins import COMFYUI_COMMIT, COMFYUI_TAG
from .symbols import CLI_ARGS, SOURCE_FUNCTIONS, SYMBOLS, CliArg, SourceFunction, Symbol

Check = Union[Symbol, SourceFunction, CliArg]


def prepare_imports(comfyui_dir: str) -> None:
    """Import ComfyUI as main.py would, on the CPU (image builds have no GPU)."""
    sys.path.insert(0, comfyui_dir)
    sys.argv = [os.path.join(comfyui_dir, "main.py"), "--cpu"]
    import comfy.options

    comfy.options.enable_args_parsing()
    # main.py imports its `utils` package before nodes.py puts comfy/ first on sys.path (where
    # comfy/utils.py would then shadow it); keep that order.
    importlib.import_module("utils.extra_config")


def check_symbol(symbol: Symbol) -> Optional[str]:
    """None when fine, else what is wrong."""
    try:
        target = importlib.import_module(symbol.module)
    except Exception as error:  # any import failure is a finding, not a crash
        return f"cannot import {symbol.module}: {error!r}"
    for part in symbol.attribute.split("."):
        if not hasattr(target, part):
            return f"{symbol.module} has no {symbol.attribute} (missing {part!r})"
        target = getattr(target, part)
    if symbol.params is None:
        return None
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError) as error:
        return f"{symbol.module}.{symbol.attribute} has no readable signature: {error}"
    return compare_params(f"{symbol.module}.{symbol.attribute}", list(signature.parameters), symbol.params)


def parse_source(comfyui_dir: str, relative_path: str) -> Tuple[Optional[ast.Module], Optional[str]]:
    """(the module's syntax tree, None), or (None, what stopped reading it)."""
    path = os.path.join(comfyui_dir, relative_path)
    try:
        with open(path, encoding="utf-8") as handle:
            return ast.parse(handle.read(), filename=path), None
    except (OSError, SyntaxError) as error:
        return None, f"cannot read {relative_path}: {error}"


def check_source_function(comfyui_dir: str, spec: SourceFunction) -> Optional[str]:
    tree, problem = parse_source(comfyui_dir, spec.path)
    if tree is None:
        return problem
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == spec.function:
            params = [a.arg for a in node.args.posonlyargs + node.args.args]
            problem = compare_params(f"{spec.path}:{spec.function}", params, spec.params)
            if problem:
                return problem
            called = called_names(node)
            missing = [name for name in spec.calls if name not in called]
            if missing:
                return f"{spec.path}:{spec.function} no longer calls {', '.join(missing)}"
            return None
    return f"{spec.path} has no top-level function {spec.function}"


def check_cli_arg(spec: CliArg) -> Optional[str]:
    """The parsed default (ComfyUI imported with --cpu) has a type the adapter handles."""
    try:
        args = importlib.import_module("comfy.cli_args").args
    except Exception as error:
        return f"cannot import comfy.cli_args: {error!r}"
    if not hasattr(args, spec.option):
        return f"comfy.cli_args.args has no {spec.option}"
    value = getattr(args, spec.option)
    if not isinstance(value, spec.types):
        return (f"comfy.cli_args.args.{spec.option} is {type(value).__name__} ({value!r}), but {spec.reader} "
                f"handles {' or '.join(t.__name__ for t in spec.types)}")
    return None


def called_names(function: ast.AST) -> set:
    """Names a function's body calls (`f(...)` and `x.f(...)` alike); the worker pack's check uses it too."""
    names = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute):
                names.add(node.func.attr)
            elif isinstance(node.func, ast.Name):
                names.add(node.func.id)
    return names


def compare_params(where: str, actual: Sequence[str], expected: Sequence[str]) -> Optional[str]:
    """A problem naming `where` unless `actual` parameters start with `expected` (new trailing ones are fine)."""
    if list(actual[: len(expected)]) != list(expected):
        return f"{where} parameters are ({', '.join(actual)}), expected to start with ({', '.join(expected)})"
    return None


def run_checks(comfyui_dir: str, symbols: Iterable[Symbol] = SYMBOLS,
               sources: Iterable[SourceFunction] = SOURCE_FUNCTIONS, out=print,
               cli_args: Iterable[CliArg] = CLI_ARGS) -> List[str]:
    """Runs every check, printing one line each; returns the failures."""
    failures = []
    checks: List[tuple] = [(s, check_symbol(s)) for s in symbols]
    checks += [(s, check_source_function(comfyui_dir, s)) for s in sources]
    checks += [(s, check_cli_arg(s)) for s in cli_args]
    for spec, problem in checks:
        if problem is None:
            out(f"ok    {spec.name}")
        else:
            out(f"FAIL  {spec.name}: {problem}")
            failures.append(problem)
    return failures


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comfyui", default="/opt/comfyui", help="ComfyUI checkout directory")
    options = parser.parse_args(argv)
    comfyui_dir = os.path.abspath(options.comfyui)
    print(f"Checking ComfyUI at {comfyui_dir} against the adapter's assumptions "
          f"({COMFYUI_TAG}, {COMFYUI_COMMIT[:12]})")
    prepare_imports(comfyui_dir)
    failures = run_checks(comfyui_dir)
    if failures:
        print(f"\n{len(failures)} broken assumption(s); update comfy_adapter/ for this ComfyUI "
              f"or build with COMFYUI_REF={COMFYUI_TAG}:")
        for problem in failures:
            print(f"  - {problem}")
        return 1
    print("\nAll assumptions hold.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
