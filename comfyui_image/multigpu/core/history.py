"""One history for every GPU, with the shape and paging of ComfyUI's PromptQueue history
(execution.py, PromptQueue.task_done / get_history), so GET /history/{id} finds a prompt
whichever GPU ran it.

An entry is never changed once recorded (record() builds it from copies and a re-record replaces
it), so a listing hands out the stored entries as stock's get_history does, without copying them:
a full listing of 10,000 entries is read by GET /history and every GET /api/jobs on the front's
event loop, where a deep copy each time took 0.66 s. Callers must not mutate what a listing
returns; one prompt's entry is still a deep copy, as stock's."""
from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from typing import Any, Dict, Optional

from .executor import ExecutionResult
from .task import Task

# ComfyUI's own bound (execution.py MAXIMUM_HISTORY_SIZE).
MAXIMUM_HISTORY_SIZE = 10000


class HistoryStore:
    def __init__(self, max_size: int = MAXIMUM_HISTORY_SIZE):
        if max_size < 1:
            raise ValueError(f"history max_size must be >= 1, got {max_size}")
        self._max_size = max_size
        self._lock = threading.Lock()
        self._entries: "OrderedDict[str, Dict[str, Any]]" = OrderedDict()

    def record(self, task: Task, result: ExecutionResult, gpu_id: int) -> None:
        entry = {
            "prompt": list(task.queue_item()),
            # Copied here so that nothing the executor still holds can change a stored entry.
            "outputs": copy.deepcopy(result.outputs),
            "status": {
                "status_str": "success" if result.success else "error",
                "completed": result.success,
                "messages": copy.deepcopy([list(m) for m in result.messages]),
            },
            "meta": copy.deepcopy(result.meta),
            # Not in stock ComfyUI; clients that read known keys are unaffected.
            "gpu_id": gpu_id,
        }
        with self._lock:
            self._entries.pop(task.prompt_id, None)
            self._entries[task.prompt_id] = entry
            while len(self._entries) > self._max_size:
                self._entries.popitem(last=False)

    def get(
        self, prompt_id: Optional[str] = None, max_items: Optional[int] = None, offset: int = -1
    ) -> Dict[str, Any]:
        """One prompt ({} if unknown; a deep copy), or a page of all: the newest `max_items` unless
        an `offset` (oldest first) is given — the same paging as ComfyUI's get_history. A page holds
        the stored entries themselves (read-only: see the module's docstring)."""
        with self._lock:
            if prompt_id is not None:
                entry = self._entries.get(prompt_id)
                return {} if entry is None else {prompt_id: copy.deepcopy(entry)}
            keys = list(self._entries)
            if offset < 0:
                offset = max(len(keys) - max_items, 0) if max_items is not None else 0
            selected = keys[offset:] if max_items is None else keys[offset : offset + max_items]
            return {k: self._entries[k] for k in selected}

    def delete(self, prompt_id: str) -> None:
        with self._lock:
            self._entries.pop(prompt_id, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
