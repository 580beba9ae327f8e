"""Refuse readiness when a custom node undid one of the adapter's patches (issue 22 item 3).

Node packs that replace process-wide ComfyUI state at import (ComfyUI-MultiGPU assigns its own
`comfy.model_management.get_torch_device`; others wrap `load_models_gpu` or `soft_empty_cache`)
silently put every worker's work on one GPU. Every patch the adapter applies is recorded here
(`record_changes` diffs the module's and its classes' attributes around the patch), and
`problem()` compares them with what is there now. It runs as a readiness check, so /readyz
answers 503 naming the pack for as long as the replacement stands, and is logged once the custom
nodes have loaded (`log_after_nodes_loaded`).
"""
from __future__ import annotations

import inspect
import logging
import os
import threading
from typing import Any, Callable, Dict, List, Optional, Tuple

log = logging.getLogger("multigpu.patch_guard")

_MISSING = object()

# Patches whose replacement changes only live previews, never which GPU computes: many public node
# packs replace latent_preview.get_previewer at import (often still calling the original). Undoing
# them is logged, not a reason to take the pod out of service.
ADVISORY_PREFIXES = ("latent_preview.",)


def _advisory(label: str) -> bool:
    return label.startswith(ADVISORY_PREFIXES)


def _guarded(value: Any) -> bool:
    """Functions, classes, descriptors and the adapter's own stand-ins (the per-GPU model list,
    the private-seed torch); not data such as counters, flags or enum settings."""
    return (callable(value) or isinstance(value, (property, staticmethod, classmethod))
            or type(value).__module__.startswith("multigpu."))


class PatchGuard:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: List[Tuple[Any, str, Any, str]] = []  # owner, attribute, ours, "module.Class.attr"

    def record(self, owner: Any, name: str, label: str) -> None:
        with self._lock:
            self._records.append((owner, name, vars(owner).get(name, _MISSING), label))

    def record_changes(self, module, apply: Callable[[Any], None]) -> None:
        """Run `apply(module)` and record every module and class attribute it set."""
        before = _attributes(module)
        apply(module)
        for (owner_label, name), (owner, value) in _attributes(module).items():
            if not _guarded(value):
                continue  # counters, flags and settings stock code may legitimately reassign
            if before.get((owner_label, name), (None, _MISSING))[1] is not value:
                with self._lock:
                    self._records.append((owner, name, value, f"{owner_label}.{name}"))

    def tampered(self) -> List[Tuple[str, str]]:
        """(what we patched, who replaced it) for every patch that is no longer ours."""
        with self._lock:
            records = list(self._records)
        found = []
        for owner, name, ours, label in records:
            now = vars(owner).get(name, _MISSING)
            if now is not ours:
                found.append((label, culprit(now)))
        return found

    def problem(self) -> Optional[str]:
        tampered = [(label, who) for label, who in self.tampered() if not _advisory(label)]
        if not tampered:
            return None
        named = "; ".join(f"{who} replaced {label}" for label, who in tampered)
        return (f"custom nodes undid multi-GPU patches ({named}): their work would go to the wrong "
                "GPU; disable those node packs (rename the folder to *.disabled) or run the "
                "single-gpu overlay")

    def log_after_nodes_loaded(self) -> None:
        problem = self.problem()
        if problem:
            log.error("Not ready: %s", problem)
        for label, who in self.tampered():
            if _advisory(label):
                log.warning("%s replaced %s: previews may use another GPU's preview settings; "
                            "the pod stays ready", who, label)


def _attributes(module) -> Dict[Tuple[str, str], Tuple[Any, Any]]:
    """{(owner label, name): (owner, value)} for the module and the classes defined in it."""
    found = {}
    name = module.__name__
    for attr, value in list(vars(module).items()):
        found[(name, attr)] = (module, value)
        if isinstance(value, type) and value.__module__ == name:
            for class_attr, class_value in list(vars(value).items()):
                found[(f"{name}.{value.__qualname__}", class_attr)] = (value, class_value)
    return found


def culprit(value: Any) -> str:
    """The custom node pack whose code `value` is, else its module, for the error message."""
    if value is _MISSING:
        return "something (deleted it)"
    target = getattr(value, "fget", None) or getattr(value, "__func__", None) or value
    try:
        path = inspect.getsourcefile(target) or ""
    except TypeError:
        path = ""
    parts = os.path.normpath(path).split(os.sep) if path else []
    if "custom_nodes" in parts and parts.index("custom_nodes") + 1 < len(parts):
        pack = parts[parts.index("custom_nodes") + 1]
        return f"custom node pack {os.path.splitext(pack)[0]!r}"
    module = getattr(target, "__module__", None) or type(target).__module__
    return f"module {module!r}"
