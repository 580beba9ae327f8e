"""Run a callback right after a module is first imported, before anyone binds names from it.

Patching at import time (instead of importing ComfyUI ourselves) keeps main.py's order intact:
it enables argument parsing and sets CUDA/allocator environment variables before torch loads.
It also means `from comfy_execution.progress import get_progress_state` in execution.py and
main.py receives the patched function, because the callback runs before the import returns.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import logging
import sys
from typing import Callable, Dict, List, Set

log = logging.getLogger("multigpu.post_import")

Callback = Callable[[object], None]


class _PatchingLoader(importlib.abc.Loader):
    def __init__(self, inner: importlib.abc.Loader, callbacks: List[Callback]):
        self._inner = inner
        self._callbacks = callbacks

    def create_module(self, spec):
        return self._inner.create_module(spec)

    def __getattr__(self, name):  # get_source, get_code...: tracebacks and inspect use them
        return getattr(self._inner, name)

    def exec_module(self, module) -> None:
        self._inner.exec_module(module)
        for callback in self._callbacks:
            callback(module)


class PostImportHooks(importlib.abc.MetaPathFinder):
    def __init__(self) -> None:
        self._callbacks: Dict[str, List[Callback]] = {}
        self._optional: Set[str] = set()

    def when_imported(self, name: str, callback: Callback, optional: bool = False) -> None:
        """Call `callback(module)` once `name` is imported (now, if it already is). An optional
        module (one only some custom nodes import) is not reported by `pending`."""
        if optional:
            self._optional.add(name)
        module = sys.modules.get(name)
        if module is not None:
            callback(module)
            return
        self._callbacks.setdefault(name, []).append(callback)

    def find_spec(self, fullname, path, target=None):
        callbacks = self._callbacks.get(fullname)
        if callbacks is None:
            return None
        spec = None
        for finder in sys.meta_path:  # ask the real finders, then wrap their loader
            if finder is not self and hasattr(finder, "find_spec"):
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    break
        if spec is None or spec.loader is None:
            return None
        del self._callbacks[fullname]
        spec.loader = _PatchingLoader(spec.loader, callbacks)
        return spec

    def install(self) -> None:
        if self not in sys.meta_path:
            sys.meta_path.insert(0, self)

    def uninstall(self) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)

    def pending(self) -> List[str]:
        return sorted(set(self._callbacks) - self._optional)
