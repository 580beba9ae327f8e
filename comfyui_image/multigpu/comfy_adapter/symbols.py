"""Every ComfyUI name the adapter relies on, checked by selfcheck.py during the image build.

`Symbol(module, attribute, params)`: `attribute` is a dotted path inside the module; `params`,
when given, are the names the callable's first parameters must have (methods include `self`).
`SourceFunction` checks main.py without running it (importing main.py starts ComfyUI): the
function exists with those parameters and calls the named methods, which is how the adapter's
hooks get called. All of it is as of the tag in pins.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple


@dataclass(frozen=True)
class Symbol:
    module: str
    attribute: str
    params: Optional[Tuple[str, ...]] = None

    @property
    def name(self) -> str:
        suffix = "" if self.params is None else "(" + ", ".join(self.params) + ")"
        return f"{self.module}.{self.attribute}{suffix}"


@dataclass(frozen=True)
class SourceFunction:
    path: str
    function: str
    params: Tuple[str, ...]
    calls: Tuple[str, ...] = ()

    @property
    def name(self) -> str:
        calls = f" calling {', '.join(self.calls)}" if self.calls else ""
        return f"{self.path}:{self.function}({', '.join(self.params)}){calls}"


@dataclass(frozen=True)
class CliArg:
    """A parsed command-line value the adapter reads (`comfy.cli_args.args.<name>`) and the Python
    types it handles: a release that changes an option's shape (v0.33 made --cache-ram a list)
    breaks the adapter without renaming anything."""
    option: str
    types: Tuple[type, ...]
    reader: str

    @property
    def name(self) -> str:
        return f"comfy.cli_args.args.{self.option} is {' or '.join(t.__name__ for t in self.types)} ({self.reader})"


MM = "comfy.model_management"
EXECUTOR = "PromptExecutor"

SYMBOLS = (
    # device, memory, interrupts (device.py, loaded_models.py, interrupt.py, executor.py)
    Symbol(MM, "get_torch_device", ()),
    Symbol(MM, "current_loaded_models"),
    Symbol(MM, "interrupt_current_processing", ("value",)),
    Symbol(MM, "processing_interrupted", ()),
    Symbol(MM, "throw_exception_if_processing_interrupted", ()),
    Symbol(MM, "InterruptProcessingException"),
    Symbol(MM, "soft_empty_cache", ("force",)),
    Symbol(MM, "unload_all_models", ()),
    Symbol(MM, "free_memory", ("memory_required", "device", "keep_loaded")),
    Symbol(MM, "load_models_gpu", ("models", "memory_required", "force_patch_weights",
                                   "minimum_memory_required", "force_full_load")),
    Symbol(MM, "cleanup_models", ()),
    Symbol(MM, "cleanup_models_gc", ()),
    Symbol(MM, "loaded_models", ("only_currently_used",)),
    Symbol(MM, "LoadedModel.is_dead", ("self",)),
    Symbol(MM, "LoadedModel.model_unload", ("self", "memory_to_free", "unpatch_weights")),
    Symbol(MM, "OOM_EXCEPTION"),
    Symbol(MM, "get_torch_device_name", ("device",)),  # system_stats.py
    Symbol(MM, "get_total_memory", ("dev", "torch_total_too")),
    Symbol(MM, "get_free_memory", ("dev", "torch_free_too")),
    Symbol(MM, "pin_memory", ("tensor",)),
    Symbol(MM, "unpin_memory", ("tensor",)),
    Symbol(MM, "MAX_PINNED_MEMORY"),
    Symbol(MM, "TOTAL_PINNED_MEMORY"),
    Symbol(MM, "PINNING_ALLOWED_TYPES"),
    Symbol(MM, "is_device_cpu", ("device",)),
    Symbol(MM, "discard_cuda_async_error", ()),
    Symbol("nodes", "interrupt_processing", ("value",)),
    # weights, noise, file names (weights_cache.py, seeding.py, filename_locks.py)
    Symbol("comfy.utils", "load_torch_file", ("ckpt", "safe_load", "device", "return_metadata")),
    Symbol("comfy.sample", "prepare_noise", ("latent_image", "seed", "noise_inds")),
    Symbol("comfy.sample", "torch.manual_seed"),
    Symbol("comfy.samplers", "torch.manual_seed"),
    Symbol("comfy.samplers", "KSAMPLER.sample"),
    Symbol("comfy.ldm.modules.diffusionmodules.upscaling", "torch.manual_seed"),
    Symbol("comfy.ldm.modules.diffusionmodules.upscaling", "AbstractLowScaleModel.q_sample",
           ("self", "x_start", "t", "noise", "seed")),
    Symbol("folder_paths", "get_save_image_path",
           ("filename_prefix", "output_dir", "image_width", "image_height")),
    # the preview method per GPU (preview_method.py)
    Symbol("latent_preview", "set_preview_method", ("override",)),
    Symbol("latent_preview", "get_previewer", ("device", "latent_format")),
    Symbol("latent_preview", "args.preview_method"),
    # per-GPU progress and subgraph prefixes (progress.py, graph_prefix.py)
    Symbol("comfy_execution.progress", "get_progress_state", ()),
    Symbol("comfy_execution.progress", "reset_progress_state", ("prompt_id", "dynprompt")),
    Symbol("comfy_execution.progress", "add_progress_handler", ("handler",)),
    Symbol("comfy_execution.progress", "ProgressRegistry", ("prompt_id", "dynprompt")),
    Symbol("comfy_execution.progress", "ProgressRegistry.reset_handlers", ("self",)),
    Symbol("comfy_execution.progress", "ProgressRegistry.register_handler", ("self", "handler")),
    Symbol("comfy_execution.graph", "DynamicPrompt", ("original_prompt",)),
    Symbol("comfy_execution.graph_utils", "GraphBuilder.set_default_prefix",
           ("prefix_root", "call_index", "graph_index")),
    Symbol("comfy_execution.graph_utils", "GraphBuilder.alloc_prefix",
           ("root", "call_index", "graph_index")),
    Symbol("comfy_execution.graph_utils", "GraphBuilder._default_prefix_root"),
    Symbol("comfy_execution.graph_utils", "GraphBuilder._default_prefix_call_index"),
    Symbol("comfy_execution.graph_utils", "GraphBuilder._default_prefix_graph_index"),
    # the executor and the queue it replaces (prompt_executor.py, executor.py, prompt_queue.py)
    Symbol("execution", f"{EXECUTOR}.__init__", ("self", "server", "cache_type", "cache_args")),
    Symbol("execution", f"{EXECUTOR}.execute",
           ("self", "prompt", "prompt_id", "extra_data", "execute_outputs")),
    Symbol("execution", f"{EXECUTOR}.add_message", ("self", "event", "data", "broadcast")),
    Symbol("execution", f"{EXECUTOR}.handle_execution_error",
           ("self", "prompt_id", "prompt", "current_outputs", "executed", "error", "ex")),
    Symbol("execution", f"{EXECUTOR}.reset", ("self",)),
    Symbol("execution", "CacheType.CLASSIC"),
    Symbol("execution", "CacheType.LRU"),
    Symbol("execution", "CacheType.RAM_PRESSURE"),
    Symbol("execution", "CacheType.NONE"),
    Symbol("execution", "PromptQueue.ExecutionStatus"),
    Symbol("execution", "PromptQueue.put", ("self", "item")),
    Symbol("execution", "PromptQueue.get", ("self", "timeout")),
    Symbol("execution", "PromptQueue.task_done", ("self", "item_id", "history_result", "status")),
    Symbol("execution", "PromptQueue.get_current_queue", ("self",)),
    Symbol("execution", "PromptQueue.get_current_queue_volatile", ("self",)),
    Symbol("execution", "PromptQueue.get_tasks_remaining", ("self",)),
    Symbol("execution", "PromptQueue.wipe_queue", ("self",)),
    Symbol("execution", "PromptQueue.delete_queue_item", ("self", "function")),
    Symbol("execution", "PromptQueue.get_history",
           ("self", "prompt_id", "max_items", "offset", "map_function")),
    Symbol("execution", "PromptQueue.wipe_history", ("self",)),
    Symbol("execution", "PromptQueue.delete_history_item", ("self", "id_to_delete")),
    Symbol("execution", "PromptQueue.set_flag", ("self", "name", "data")),
    Symbol("execution", "PromptQueue.get_flags", ("self", "reset")),
    Symbol("comfy.cli_args", "args.cache_lru"),
    Symbol("comfy.cli_args", "args.cache_ram"),
    Symbol("comfy.cli_args", "args.cache_none"),
    Symbol("hook_breaker_ac10a0", "restore_functions", ()),
    # the server (server_state.py, server_hooks.py)
    Symbol("server", "PromptServer.__init__", ("self", "loop")),
    Symbol("server", "PromptServer.add_routes", ("self",)),
    Symbol("server", "PromptServer.start_multi_address",
           ("self", "addresses", "call_on_start", "verbose")),
    Symbol("server", "PromptServer.send_sync", ("self", "event", "data", "sid")),
    Symbol("server", "PromptServer.queue_updated", ("self",)),
)

SOURCE_FUNCTIONS = (
    SourceFunction("main.py", "prompt_worker", ("q", "server_instance"), ("get", "get_flags")),
    SourceFunction("main.py", "start_comfyui", ("asyncio_loop",),
                   ("PromptServer", "add_routes", "Thread")),
    SourceFunction("main.py", "run", ("server_instance", "address", "port", "verbose", "call_on_start"),
                   ("start_multi_address",)),
)

# prompt_executor.py cache_settings reads these as main.py prompt_worker does at the pinned release.
CLI_ARGS = (
    CliArg("cache_lru", (int,), "prompt_executor.py cache_settings"),
    CliArg("cache_ram", (int, float), "prompt_executor.py cache_settings"),
    CliArg("cache_none", (bool,), "prompt_executor.py cache_settings"),
)
