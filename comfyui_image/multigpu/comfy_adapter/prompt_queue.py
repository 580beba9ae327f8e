"""A replacement for ComfyUI's `execution.PromptQueue` that feeds the GpuPool.

Targets execution.py (v0.8.0) `PromptQueue`, which server.py `PromptServer.__init__` creates as
`execution.PromptQueue(self)` and every route uses: POST /prompt calls `put`, GET /queue
`get_current_queue_volatile`, POST /interrupt `get_current_queue`, POST /free `set_flag`, the
history and jobs routes `get_history`, the websocket status `get_tasks_remaining`. This class
keeps that interface over the pool, so ComfyUI's own handlers keep working, and:

- `put` routes with the X-TARGET-GPU of the request being handled (core/request_context.py) and
  records where the prompt went, for the middleware to add `gpu_id` to the response;
- `get` is only called by main.py's stock `prompt_worker` thread, which must stay idle: the pool's
  workers run the prompts. It waits out its timeout and returns None;
- `get_flags` returns {} for the same thread: /free reaches the workers through `set_flag`.
Queue changes reach clients as stock: the pool's change callback calls `server.queue_updated()`.
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Dict, List, Optional

from ..core.pool import GpuPool
from ..core.request_context import current_request
from ..core.task import Task, models_in_prompt

FREE_FLAGS = ("unload_models", "free_memory")


class PoolPromptQueue:
    pool: GpuPool  # set by make_prompt_queue_class
    ExecutionStatus: Any = None

    def __init__(self, server):
        self.server = server
        self.mutex = threading.RLock()  # stock attribute some custom nodes lock on
        self._idle = threading.Event()

    # ---- intake ----------------------------------------------------------------------------
    def put(self, item) -> int:
        number, prompt_id, prompt, extra_data, outputs_to_execute, sensitive = item
        task = Task(number=number, prompt_id=prompt_id, prompt=prompt, extra_data=extra_data,
                    outputs_to_execute=list(outputs_to_execute), sensitive=dict(sensitive),
                    models=models_in_prompt(prompt))
        routing = current_request()
        gpu = self.pool.submit(task, target_gpu=routing.target_gpu)
        routing.routed_gpu = gpu
        return gpu

    def get(self, timeout: Optional[float] = None):
        self._idle.wait(timeout)
        return None

    def task_done(self, item_id, history_result, status=None, process_item=None):
        raise RuntimeError("PromptQueue.task_done is not used in multi-GPU mode: the GPU workers "
                           "record history themselves; unset COMFY_MULTI_GPU_SCHED for stock mode")

    # ---- queue views -----------------------------------------------------------------------
    def get_current_queue(self):
        snapshot = self.pool.queue_snapshot()
        return snapshot["queue_running"], snapshot["queue_pending"]

    def get_current_queue_volatile(self):
        return self.get_current_queue()

    def get_tasks_remaining(self) -> int:
        return self.pool.tasks_remaining()

    def wipe_queue(self) -> None:
        self.pool.clear_pending()

    def delete_queue_item(self, function: Callable[[Any], bool]) -> bool:
        for item in self.pool.queue_snapshot()["queue_pending"]:
            if function(item):
                return bool(self.pool.delete_pending([item[1]]))
        return False

    @property
    def queue(self) -> List[Any]:
        return self.get_current_queue()[1]

    @property
    def currently_running(self) -> Dict[int, Any]:
        return dict(enumerate(self.get_current_queue()[0]))

    # ---- history ---------------------------------------------------------------------------
    def get_history(self, prompt_id=None, max_items=None, offset=-1, map_function=None):
        entries = self.pool.history.get(prompt_id=prompt_id, max_items=max_items, offset=offset)
        if map_function is not None:
            entries = {key: map_function(value) for key, value in entries.items()}
        return entries

    @property
    def history(self) -> Dict[str, Any]:
        return self.pool.history.get()

    def wipe_history(self) -> None:
        self.pool.history.clear()

    def delete_history_item(self, id_to_delete) -> None:
        self.pool.history.delete(id_to_delete)

    # ---- flags -----------------------------------------------------------------------------
    def set_flag(self, name, data) -> None:
        if name in FREE_FLAGS:
            self.pool.request_free(unload_models=name == "unload_models" and bool(data),
                                   free_memory=name == "free_memory" and bool(data))

    def get_flags(self, reset=True) -> dict:
        return {}


def make_prompt_queue_class(pool: GpuPool, stock_class: Optional[type]) -> type:
    """The class to put at `execution.PromptQueue`, bound to `pool`; keeps the stock
    `ExecutionStatus` (main.py `prompt_worker` refers to it)."""
    status = getattr(stock_class, "ExecutionStatus", None)
    return type("PromptQueue", (PoolPromptQueue,), {"pool": pool, "ExecutionStatus": status,
                                                    "__module__": __name__})
