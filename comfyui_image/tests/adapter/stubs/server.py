import threading

import execution


class FakeApp:
    def __init__(self):
        self.middlewares = []
        self.frozen = False


class PromptServer:
    def __init__(self, loop):
        PromptServer.instance = self
        self.prompt_queue = execution.PromptQueue(self)
        self.loop = loop
        self.app = FakeApp()
        self.sent = []
        self._sent_lock = threading.Lock()
        self.last_node_id = None
        self.client_id = None
        self.listening_on = None

    def add_routes(self):
        self.routes_added = True

    def send_sync(self, event, data, sid=None):
        with self._sent_lock:
            self.sent.append((event, data, sid))

    def queue_updated(self):
        self.send_sync("status", {"queue_remaining": self.prompt_queue.get_tasks_remaining()})

    async def start_multi_address(self, addresses, call_on_start=None, verbose=True):
        self.app.frozen = True
        self.listening_on = list(addresses)
