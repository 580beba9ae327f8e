"""A `current_loaded_models` list per GPU.

Targets comfy/model_management.py (v0.8.0) module variable `current_loaded_models`, which
`load_models_gpu`, `free_memory`, `loaded_models`, `cleanup_models_gc` and `cleanup_models` read as
a module global. Those functions walk the list by index and pop from it; two workers doing that on
one shared list would pop each other's entries. Replacing the variable with this proxy gives each
worker thread its GPU's list (threads not bound to a GPU share one list), so `free_memory` and
`unload_all_models` on GPU 1 only see, and only unload, GPU 1's models.
"""
from __future__ import annotations

from collections.abc import MutableSequence
from typing import List, Optional

from .worker_binding import PerGpuSlots, bound_gpu


class PerGpuModelList(MutableSequence):
    def __init__(self, initial: Optional[list] = None):
        self._slots: "PerGpuSlots[List]" = PerGpuSlots(list)
        self._slots.for_gpu(None).extend(initial or [])

    def for_gpu(self, gpu_id: Optional[int]) -> List:
        return self._slots.for_gpu(gpu_id)

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
    return proxy
