import enum
import threading
import time
from typing import List, NamedTuple

import comfy.model_management
import nodes
from latent_preview import set_preview_method  # as v0.8.0: bound at import


class CacheType(enum.Enum):
    CLASSIC = 0
    LRU = 1
    NONE = 2
    RAM_PRESSURE = 3


class PromptExecutor:
    def __init__(self, server, cache_type=False, cache_args=None):
        self.server, self.cache_type, self.cache_args = server, cache_type, cache_args
        self.reset()

    def reset(self):
        self.caches = object()
        self.status_messages = []
        self.success = True

    def add_message(self, event, data, broadcast):
        data = {**data, "timestamp": int(time.time() * 1000)}
        self.status_messages.append((event, data))
        if self.server.client_id is not None or broadcast:
            self.server.send_sync(event, data, self.server.client_id)

    def handle_execution_error(self, prompt_id, prompt, current_outputs, executed, error, ex):
        if isinstance(ex, comfy.model_management.InterruptProcessingException):
            self.add_message("execution_interrupted", {"prompt_id": prompt_id}, broadcast=True)
            return
        self.add_message("execution_error", {
            "prompt_id": prompt_id, "node_id": error["node_id"],
            "exception_message": str(ex), "exception_type": type(ex).__name__,
        }, broadcast=False)

    def execute(self, prompt, prompt_id, extra_data={}, execute_outputs=[]):
        set_preview_method(extra_data.get("preview_method"))
        nodes.interrupt_processing(False)
        self.server.client_id = extra_data.get("client_id")
        self.status_messages = []
        self.add_message("execution_start", {"prompt_id": prompt_id}, broadcast=False)
        executed = set()
        for node_id, node in prompt.items():
            self.server.last_node_id = node_id
            self.server.send_sync("executing", {"node": node_id, "prompt_id": prompt_id}, self.server.client_id)
            try:
                nodes.NODE_CLASS_MAPPINGS[node["class_type"]]().run(**node.get("inputs", {}))
            except Exception as ex:
                self.success = False
                self.handle_execution_error(prompt_id, prompt, [], executed, {"node_id": node_id}, ex)
                break
            executed.add(node_id)
        else:
            self.add_message("execution_success", {"prompt_id": prompt_id}, broadcast=False)
        self.history_result = {"outputs": {n: {"ran": True} for n in executed}, "meta": {}}
        self.server.last_node_id = None


class PromptQueue:
    def __init__(self, server):
        self.server = server
        self.mutex = threading.RLock()
        self.queue, self.history, self.flags = [], {}, {}

    class ExecutionStatus(NamedTuple):
        status_str: str
        completed: bool
        messages: List[str]

    def put(self, item):
        self.queue.append(item)

    def get(self, timeout=None):
        return None

    def task_done(self, item_id, history_result, status, process_item=None):
        pass

    def get_current_queue(self):
        return [], list(self.queue)

    def get_current_queue_volatile(self):
        return [], list(self.queue)

    def get_tasks_remaining(self):
        return len(self.queue)

    def wipe_queue(self):
        self.queue = []

    def delete_queue_item(self, function):
        return False

    def get_history(self, prompt_id=None, max_items=None, offset=-1, map_function=None):
        return {}

    def wipe_history(self):
        self.history = {}

    def delete_history_item(self, id_to_delete):
        self.history.pop(id_to_delete, None)

    def set_flag(self, name, data):
        self.flags[name] = data

    def get_flags(self, reset=True):
        return {}
