"""Output file-name locks for process mode's workers, held by the front (docs/process-mode-design.md 3.7).

Stock `folder_paths.get_save_image_path` picks the next counter by listing the folder and the node
writes later, so two worker processes saving one prefix at once could take the same file name. The
node pack's wrapper (worker_pack/multigpu_worker/save_lock.py) asks the front for (output folder,
prefix) first; the front grants it to the worker's GPU and releases it by thread mode's rule
(comfy_adapter/filename_locks.py): on that worker's next `executing`/`executed` message, when its
prompt ends, or when it dies.

"Next" means next in the worker's send order. The request travels on its own HTTP connection while
the worker's messages wait in its WebSocket queue (v0.8.0 server.py `send_sync` only queues them for
the event loop), so the `executing` message of the very node that asks may reach the front after
the request. A hold therefore names that node (prompt id, node id: the worker's execution context)
and is armed by the node's own `executing` (at once when the front has already seen it); only a
message after that releases it. Messages without a prompt id (v0.8.0 server.py re-sends
`executing {node}` to a reconnecting socket) are replays and count for nothing. A request from a
later node proves the earlier one finished writing, so it releases that node's holds first. A
request naming no node is armed at once: thread mode's rule by arrival order.

Pure: no I/O. The front's route (front/save_lock_routes.py) waits for a grant on its event loop and
is woken by the listeners, called after each release from whichever thread released.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

from .keyed_locks import KeyedLocks

# (prompt id, node id) of the node that asked, as its `executing` message names it.
NodeId = Tuple[str, Optional[str]]
RELEASING_EVENTS = ("executing", "executed")


def save_lock_key(folder: str, prefix: str) -> Tuple[str, str]:
    """Thread mode's key (filename_locks.output_lock_key): the prefix as given, before `%date%`-style
    variables are expanded; `folder` is absolute (the worker resolves it in its own directory)."""
    return os.path.normcase(os.path.normpath(folder)), os.path.normcase(os.path.normpath(prefix))


class WorkerGone(Exception):
    """The worker that asked exited while its request waited; a restarted one asks anew."""


@dataclass
class _Hold:
    node: Optional[NodeId]
    armed: bool  # the node's own `executing` has been seen: the next message releases


class SaveLocks:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys = KeyedLocks()
        self._holds: Dict[int, _Hold] = {}
        self._announced: Dict[int, NodeId] = {}  # the node each worker's last `executing` named
        self._lives: Dict[int, int] = {}  # counts each worker's exits
        self._listeners: List[Callable[[], None]] = []

    def listen(self, on_release: Callable[[], None]) -> None:
        """Call `on_release` (from the releasing thread) after keys are released."""
        self._listeners.append(on_release)

    def life(self, gpu: int) -> int:
        """Which life of worker `gpu` this is: a request passes it back to `try_take`."""
        with self._lock:
            return self._lives.get(gpu, 0)

    def try_take(self, gpu: int, key: Tuple[str, str], node: Optional[NodeId], life: int) -> bool:
        """Hold `key` for worker `gpu` unless another worker holds it; raises WorkerGone when the
        worker exited since `life` was read (a grant then would outlive the process)."""
        with self._lock:
            if self._lives.get(gpu, 0) != life:
                raise WorkerGone(f"ComfyUI for GPU {gpu} exited while waiting for the save lock")
            hold = self._holds.get(gpu)
            released = False
            if hold is not None and node is not None and hold.node not in (None, node):
                released, hold = self._release(gpu), None
            taken = self._keys.try_acquire(key, gpu)
            if taken and hold is None:
                self._holds[gpu] = _Hold(node, armed=node is None or self._announced.get(gpu) == node)
        if released:
            self._notify()
        return taken

    def heard(self, gpu: int, event: str, data: object) -> None:
        """One message from worker `gpu`'s WebSocket, in arrival order."""
        if event not in RELEASING_EVENTS or not isinstance(data, dict) or data.get("prompt_id") is None:
            return
        node = (data["prompt_id"], data.get("node"))
        with self._lock:
            if event == "executing":
                self._announced[gpu] = node
            hold = self._holds.get(gpu)
            if hold is None:
                return
            if not hold.armed:
                hold.armed = event == "executing" and node == hold.node
                return
            released = self._release(gpu)
        if released:
            self._notify()

    def prompt_ended(self, gpu: int) -> None:
        with self._lock:
            released = self._release(gpu)
        if released:
            self._notify()

    def worker_exited(self, gpu: int) -> None:
        with self._lock:
            self._lives[gpu] = self._lives.get(gpu, 0) + 1
            self._announced.pop(gpu, None)
            self._release(gpu)
        self._notify()  # always: that worker's waiting requests must give up

    def keys_held(self) -> int:
        return self._keys.keys_held()

    def _release(self, gpu: int) -> bool:
        self._holds.pop(gpu, None)
        return self._keys.release_held(gpu) > 0

    def _notify(self) -> None:
        for listener in self._listeners:
            listener()
