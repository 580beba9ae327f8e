"""A `current_loaded_models` list per GPU, pruned only by the worker that owns it.

Targets comfy/model_management.py (v0.8.0) module variable `current_loaded_models`, which
`load_models_gpu`, `free_memory`, `loaded_models`, `cleanup_models_gc` and `cleanup_models` read as
a module global. Those functions walk the list by index and pop from it; two workers doing that on
one shared list would pop each other's entries. Replacing the variable with this proxy gives each
worker thread its GPU's list (threads not bound to a GPU share one list), so `free_memory` and
`unload_all_models` on GPU 1 only see, and only unload, GPU 1's models.

`cleanup_models` is the finalizer `LoadedModel.model_load` registers with
`weakref.finalize(real_model, cleanup_models)`. It runs on whichever thread drops the last
reference or runs `gc.collect()`: often another GPU's worker. Stock, it would prune *that* thread's
list and leave the dead entry in the owner's list, where every later `free_memory` on the owner
raises `AttributeError: 'NoneType' object has no attribute 'model_size'`. Ours only marks every
list dirty; each worker prunes its own list where stock code is about to walk it
(`cleanup_models_gc`, which `free_memory`, `load_models_gpu` and execution.py call first, and
`loaded_models`). `LoadedModel.is_dead` also answers True for an entry whose model is gone, so a
finalizer that fires in the middle of a walk leaves an entry that `free_memory` skips.
"""
from __future__ import annotations

import functools
import threading
from collections.abc import MutableSequence
from typing import List, Optional, Set

from .worker_binding import PerGpuSlots, bound_gpu


def model_is_gone(entry) -> bool:
    """The model behind a LoadedModel was collected (stock `cleanup_models`'s test). An entry whose
    `real_model` is None (not loaded yet, or unloaded and about to be popped) is not gone."""
    real_model = getattr(entry, "real_model", None)
    return callable(real_model) and real_model() is None


class PerGpuModelList(MutableSequence):
    def __init__(self, initial: Optional[list] = None):
        self._slots: "PerGpuSlots[List]" = PerGpuSlots(list)
        self._slots.for_gpu(None).extend(initial or [])
        self._dirty_lock = threading.Lock()
        self._dirty: Set[Optional[int]] = set()

    def for_gpu(self, gpu_id: Optional[int]) -> List:
        return self._slots.for_gpu(gpu_id)

    def mark_all_dirty(self) -> None:
        """Safe from any thread: touches no list."""
        with self._dirty_lock:
            self._dirty.update(self._slots.keys())

    def prune_mine(self) -> int:
        """Drop the calling worker's entries whose model is gone; only the owner calls this."""
        gpu = bound_gpu()
        with self._dirty_lock:
            if gpu not in self._dirty:
                return 0
            self._dirty.discard(gpu)
        mine = self._mine
        gone = [i for i, entry in enumerate(mine) if model_is_gone(entry)]
        for i in reversed(gone):
            del mine[i]
        return len(gone)

    @property
    def _mine(self) -> List:
        return self._slots.current()

    def __getitem__(self, index):
        return self._mine[index]

    def __setitem__(self, index, value):
        self._mine[index] = value

    def __delitem__(self, index):
        del self._mine[index]

    def __len__(self):
        return len(self._mine)

    def __iter__(self):
        return iter(self._mine)

    def insert(self, index, value):
        self._mine.insert(index, value)

    def index(self, value, *args):  # list.index compares with ==, as LoadedModel.__eq__ expects
        return self._mine.index(value, *args)

    def __repr__(self):
        return f"PerGpuModelList(gpu={bound_gpu()}, {self._mine!r})"


def patch_loaded_models(model_management) -> PerGpuModelList:
    current = model_management.current_loaded_models
    if isinstance(current, PerGpuModelList):
        return current
    proxy = PerGpuModelList(current)
    model_management.current_loaded_models = proxy
    _patch_cleanup(model_management, proxy)
    return proxy


def _patch_cleanup(mm, proxy: PerGpuModelList) -> None:
    def cleanup_models():
        proxy.mark_all_dirty()

    cleanup_models._multigpu_original = mm.cleanup_models
    mm.cleanup_models = cleanup_models  # model_load looks the name up when it registers

    for name in ("cleanup_models_gc", "loaded_models"):
        original = getattr(mm, name)

        def pruned_first(*args, _original=original, **kwargs):
            proxy.prune_mine()
            return _original(*args, **kwargs)

        functools.update_wrapper(pruned_first, original)
        pruned_first._multigpu_original = original
        setattr(mm, name, pruned_first)

    loaded_model = getattr(mm, "LoadedModel", None)
    if loaded_model is not None and not hasattr(loaded_model.is_dead, "_multigpu_original"):
        stock_is_dead = loaded_model.is_dead

        def is_dead(self):
            return model_is_gone(self) or stock_is_dead(self)

        is_dead._multigpu_original = stock_is_dead
        loaded_model.is_dead = is_dead
