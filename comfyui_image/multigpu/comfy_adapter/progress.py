"""A progress registry per GPU worker instead of ComfyUI's single global one.

Targets comfy_execution/progress.py (v0.8.0) `reset_progress_state`, `add_progress_handler` and
`get_progress_state`, which keep one `global_progress_registry`. execution.py
`PromptExecutor.execute_async` resets it for every prompt and main.py's `hijack_progress` updates
it, so two workers would overwrite each other's registry and send GPU 0's node states to GPU 1's
client. The patch runs when the module is imported, before execution.py and main.py bind these
names with `from comfy_execution.progress import ...`, so they receive these versions.
"""
from __future__ import annotations

from types import SimpleNamespace

from .worker_binding import PerGpuSlots


def patch_progress(progress_module) -> None:
    if getattr(progress_module.get_progress_state, "_multigpu_original", None):
        return
    originals = {name: getattr(progress_module, name) for name in
                 ("reset_progress_state", "add_progress_handler", "get_progress_state")}
    slots = PerGpuSlots(lambda: SimpleNamespace(registry=None))

    def reset_progress_state(prompt_id, dynprompt):
        slot = slots.current()
        if slot.registry is not None:
            slot.registry.reset_handlers()
        slot.registry = progress_module.ProgressRegistry(prompt_id, dynprompt)

    def add_progress_handler(handler):
        registry = get_progress_state()
        handler.set_registry(registry)
        registry.register_handler(handler)

    def get_progress_state():
        slot = slots.current()
        if slot.registry is None:  # before this worker's first prompt: an empty registry
            from comfy_execution.graph import DynamicPrompt

            slot.registry = progress_module.ProgressRegistry(prompt_id="", dynprompt=DynamicPrompt({}))
        return slot.registry

    for function in (reset_progress_state, add_progress_handler, get_progress_state):
        function._multigpu_original = originals[function.__name__]
        setattr(progress_module, function.__name__, function)
