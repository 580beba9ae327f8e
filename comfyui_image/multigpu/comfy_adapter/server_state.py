"""Per-worker `client_id`, `last_prompt_id` and `last_node_id` on ComfyUI's PromptServer.

Targets server.py `PromptServer` (v0.8.0): `__init__` sets `self.client_id` / `self.last_node_id`;
execution.py `PromptExecutor.execute_async` writes `server.client_id` for the prompt it runs, and
`execute` / `add_message` and main.py's `hijack_progress` hook read them to address messages.
With one PromptServer and a worker per GPU these must not be shared, or GPU 1's progress would go
to GPU 0's client. The class gets properties backed by one slot per GPU (worker_binding.py), so
each worker sees its own values and every other thread (aiohttp's) sees the unbound slot, whose
values stay None: the HTTP side never learns which client "the" running prompt belongs to, e.g.
the websocket reconnect in `websocket_handler` does not replay `executing`.

Also wraps server.py `PromptServer.send_sync`: when a worker reports `executing` or `executed`,
the previous node has finished writing its files, so the output file-name locks it held are
released (filename_locks.py).
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Callable

from .worker_binding import PerGpuSlots

PER_WORKER_ATTRIBUTES = ("client_id", "last_prompt_id", "last_node_id")
NODE_BOUNDARY_EVENTS = ("executing", "executed")


def _new_state() -> SimpleNamespace:
    return SimpleNamespace(**{name: None for name in PER_WORKER_ATTRIBUTES})


def _per_gpu_property(name: str, slots: "PerGpuSlots[SimpleNamespace]") -> property:
    def get(_server):
        return getattr(slots.current(), name)

    def set_(_server, value):
        setattr(slots.current(), name, value)

    return property(get, set_, doc=f"PromptServer.{name}, one value per GPU worker (multigpu).")


def patch_prompt_server(server_module, on_node_boundary: Callable[[], None]) -> None:
    """Make the per-prompt attributes per GPU worker and hook node boundaries in send_sync."""
    cls = server_module.PromptServer
    if getattr(cls, "_multigpu_patched", False):
        return
    slots = PerGpuSlots(_new_state)
    for name in PER_WORKER_ATTRIBUTES:
        setattr(cls, name, _per_gpu_property(name, slots))

    original_send_sync = cls.send_sync

    def send_sync(self, event, data, sid=None):
        if event in NODE_BOUNDARY_EVENTS:
            on_node_boundary()
        return original_send_sync(self, event, data, sid)

    send_sync._multigpu_original = original_send_sync
    cls.send_sync = send_sync
    cls._multigpu_patched = True
