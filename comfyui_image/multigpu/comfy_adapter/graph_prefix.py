"""GraphBuilder's default node-id prefix per GPU worker.

Targets comfy_execution/graph_utils.py (v0.8.0) `GraphBuilder.set_default_prefix` and
`GraphBuilder.alloc_prefix`, which keep the prefix in class attributes
(`_default_prefix_root`, `_default_prefix_call_index`, `_default_prefix_graph_index`).
execution.py `execute` sets the prefix before running a node that expands into a subgraph; with two
workers expanding at once, one would build node ids under the other's prefix and collide. The
replacements keep the same three values per worker; the class attributes stay as the defaults.
"""
from __future__ import annotations

from types import SimpleNamespace

from .worker_binding import PerGpuSlots


def patch_graph_builder(graph_utils) -> None:
    cls = graph_utils.GraphBuilder
    if getattr(cls, "_multigpu_patched", False):
        return
    slots = PerGpuSlots(lambda: SimpleNamespace(
        root=cls._default_prefix_root,
        call_index=cls._default_prefix_call_index,
        graph_index=cls._default_prefix_graph_index,
    ))

    def set_default_prefix(_cls, prefix_root, call_index, graph_index=0):
        slot = slots.current()
        slot.root, slot.call_index, slot.graph_index = prefix_root, call_index, graph_index

    def alloc_prefix(_cls, root=None, call_index=None, graph_index=None):
        slot = slots.current()
        root = slot.root if root is None else root
        call_index = slot.call_index if call_index is None else call_index
        graph_index = slot.graph_index if graph_index is None else graph_index
        slot.graph_index += 1
        return f"{root}.{call_index}.{graph_index}."

    cls.set_default_prefix = classmethod(set_default_prefix)
    cls.alloc_prefix = classmethod(alloc_prefix)
    cls._multigpu_patched = True
