"""`ClassMember`: a method or attribute of a ComfyUI class, checked in the source (ast), as the thread
mode's `SourceFunction` checks top-level functions (comfy_adapter/selfcheck.py, whose helpers this
reuses)."""
from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Optional, Tuple

from ...comfy_adapter.selfcheck import called_names, compare_params, parse_source


@dataclass(frozen=True)
class ClassMember:
    path: str  # relative to the ComfyUI checkout
    cls: str  # a top-level class
    member: str  # a method, a class attribute, or an attribute its methods assign (self.x / Cls.x)
    params: Optional[Tuple[str, ...]] = None  # a method's first parameters, `self` included
    calls: Tuple[str, ...] = ()  # names the method must call

    @property
    def name(self) -> str:
        params = "" if self.params is None else "(" + ", ".join(self.params) + ")"
        calls = f" calling {', '.join(self.calls)}" if self.calls else ""
        return f"{self.path}:{self.cls}.{self.member}{params}{calls}"


def check_class_member(comfyui_dir: str, spec: ClassMember) -> Optional[str]:
    """None when fine, else what is wrong."""
    tree, problem = parse_source(comfyui_dir, spec.path)
    if tree is None:
        return problem
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == spec.cls]
    if not classes:
        return f"{spec.path} has no top-level class {spec.cls}"
    member = _find_member(classes[0], spec.member)
    where = f"{spec.path}:{spec.cls}.{spec.member}"
    if member is None:
        return f"{spec.path}: class {spec.cls} has no {spec.member}"
    if spec.params is None and not spec.calls:
        return None
    if not isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return f"{where} is no longer a method"
    if spec.params is not None:
        problem = compare_params(where, [a.arg for a in member.args.posonlyargs + member.args.args], spec.params)
        if problem:
            return problem
    missing = [name for name in spec.calls if name not in called_names(member)]
    return f"{where} no longer calls {', '.join(missing)}" if missing else None


def _find_member(cls: ast.ClassDef, name: str) -> Optional[ast.AST]:
    for node in cls.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return node
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and name in _assigned(node, owners=()):
            return node
    for method in cls.body:
        if isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(method):
                if isinstance(node, (ast.Assign, ast.AnnAssign)) and name in _assigned(node, ("self", cls.name)):
                    return node
    return None


def _assigned(node: ast.AST, owners: Tuple[str, ...]) -> set:
    """Names `node` assigns: bare names when `owners` is empty, else attributes of those names."""
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    names = set()
    for target in targets:
        if not owners and isinstance(target, ast.Name):
            names.add(target.id)
        elif (owners and isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
              and target.value.id in owners):
            names.add(target.attr)
    return names
