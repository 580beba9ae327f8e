"""Run the worker pack's assumptions against a ComfyUI checkout and print the verdict (see __init__.py)."""
from __future__ import annotations

import argparse
import os
from typing import Callable, Iterable, List, Optional, Union

from ...comfy_adapter.selfcheck import check_source_function
from ...comfy_adapter.symbols import SourceFunction
from .assumptions import OPTIONAL, REQUIRED
from .class_members import ClassMember, check_class_member

Spec = Union[SourceFunction, ClassMember]


def check(comfyui_dir: str, spec: Spec) -> Optional[str]:
    if isinstance(spec, ClassMember):
        return check_class_member(comfyui_dir, spec)
    return check_source_function(comfyui_dir, spec)


def run_checks(comfyui_dir: str, required: Iterable[Spec] = REQUIRED, optional: Iterable[Spec] = OPTIONAL,
               out: Callable[[str], None] = print) -> List[str]:
    """Prints one line per assumption; returns the required ones that fail."""
    failures = []
    for spec in required:
        problem = check(comfyui_dir, spec)
        out(f"ok    {spec.name}" if problem is None else f"FAIL  {spec.name}: {problem}")
        if problem is not None:
            failures.append(problem)
    for spec in optional:
        problem = check(comfyui_dir, spec)
        out(f"ok    {spec.name}" if problem is None else f"n/a   {spec.name}: {problem} (optional)")
    return failures


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Check a ComfyUI checkout against the process-mode worker pack")
    parser.add_argument("--comfyui", default="/opt/comfyui", help="ComfyUI checkout directory")
    comfyui_dir = os.path.abspath(parser.parse_args(argv).comfyui)
    print(f"Checking ComfyUI at {comfyui_dir} against the process-mode worker pack's assumptions")
    failures = run_checks(comfyui_dir)
    if failures:
        print(f"\n{len(failures)} broken assumption(s); update multigpu/worker_pack for this ComfyUI:")
        for problem in failures:
            print(f"  - {problem}")
        return 1
    print("\nAll assumptions hold.")
    return 0
