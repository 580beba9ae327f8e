"""ComfyUI's PromptExecutor with out-of-memory detection and a held-back first OOM error.

Targets execution.py (v0.8.0) `PromptExecutor`: `execute_async` catches every node exception in
the module function `execute`, which returns the exception, and then calls
`handle_execution_error(prompt_id, prompt, current_outputs, executed, error, ex)`; that sends an
`execution_error` message through `add_message(event, data, broadcast)` (to the client, and into
`status_messages`, which history keeps). An OOM therefore never leaves `execute`: we recognise it
in `handle_execution_error` from `ex` being `comfy.model_management.OOM_EXCEPTION`
(torch.cuda.OutOfMemoryError). When the core will retry (`hold_back_oom`), the message is kept in
`status_messages` but not sent, so the client sees only the retry's outcome.
"""
from __future__ import annotations

import time

from ..core.faults import looks_like_out_of_memory


def is_out_of_memory(error: BaseException, oom_exception: type) -> bool:
    # model_management falls back to OOM_EXCEPTION = Exception when torch lacks the CUDA error
    # class; then every failure would look like an OOM, so only the class name and the message
    # count: torch.OutOfMemoryError covers the caching allocator only, while an allocation that
    # fails inside a kernel launch, cuBLAS or cuDNN arrives as a RuntimeError with CUDA's text.
    if oom_exception is not Exception and isinstance(error, oom_exception):
        return True
    return looks_like_out_of_memory(type(error).__name__, str(error))


def make_prompt_executor_class(execution, model_management) -> type:
    """A PromptExecutor subclass, built once ComfyUI's execution module exists."""

    class MultiGpuPromptExecutor(execution.PromptExecutor):
        hold_back_oom = False
        out_of_memory = False

        def begin_attempt(self, *, hold_back_oom: bool) -> None:
            self.hold_back_oom = hold_back_oom
            self.out_of_memory = False
            self.success = True  # stock leaves the previous prompt's value when all nodes are cached
            self.history_result = {"outputs": {}, "meta": {}}

        def handle_execution_error(self, prompt_id, prompt, current_outputs, executed, error, ex):
            if is_out_of_memory(ex, model_management.OOM_EXCEPTION):
                self.out_of_memory = True
            return super().handle_execution_error(prompt_id, prompt, current_outputs, executed, error, ex)

        def add_message(self, event, data, broadcast):
            if event == "execution_error" and self.out_of_memory and self.hold_back_oom:
                self.status_messages.append((event, {**data, "timestamp": int(time.time() * 1000)}))
                return
            return super().add_message(event, data, broadcast)

    return MultiGpuPromptExecutor


def cache_settings(args, execution) -> tuple:
    """The cache type and arguments main.py `prompt_worker` derives from the command line."""
    cache_type = execution.CacheType.CLASSIC
    if args.cache_lru > 0:
        cache_type = execution.CacheType.LRU
    elif args.cache_ram > 0:
        cache_type = execution.CacheType.RAM_PRESSURE
    elif args.cache_none:
        cache_type = execution.CacheType.NONE
    return cache_type, {"lru": args.cache_lru, "ram": args.cache_ram}
