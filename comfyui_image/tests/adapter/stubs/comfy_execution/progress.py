class ProgressRegistry:
    def __init__(self, prompt_id, dynprompt):
        self.prompt_id, self.dynprompt = prompt_id, dynprompt
        self.handlers = {}
        self.was_reset = False

    def register_handler(self, handler):
        self.handlers[handler.name] = handler

    def reset_handlers(self):
        self.was_reset = True


global_progress_registry = None


def reset_progress_state(prompt_id, dynprompt):
    global global_progress_registry
    global_progress_registry = ProgressRegistry(prompt_id, dynprompt)


def add_progress_handler(handler):
    registry = get_progress_state()
    handler.set_registry(registry)
    registry.register_handler(handler)


def get_progress_state():
    global global_progress_registry
    if global_progress_registry is None:
        from comfy_execution.graph import DynamicPrompt

        global_progress_registry = ProgressRegistry("", DynamicPrompt({}))
    return global_progress_registry
