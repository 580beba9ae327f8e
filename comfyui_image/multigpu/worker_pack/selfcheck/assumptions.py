"""What the process-mode worker node pack (worker_pack/multigpu_worker) and the front rely on in a
stock ComfyUI, as of v0.8.0 (the pin) and v0.33.0; checked by report.py at image build."""
from __future__ import annotations

from ...comfy_adapter.symbols import SourceFunction
from .class_members import ClassMember

REQUIRED = (
    # save_lock.py wraps it and keeps its parameters; SaveImage (nodes.py) calls it through the
    # module at call time, so the wrapped one is what stock nodes use.
    SourceFunction("folder_paths.py", "get_save_image_path",
                   ("filename_prefix", "output_dir", "image_width", "image_height")),
    ClassMember("nodes.py", "SaveImage", "save_images", calls=("get_save_image_path",)),
    # The saving node named in the lock request, as its `executing` message names it (core/save_locks.py).
    SourceFunction("comfy_execution/utils.py", "get_executing_context", ()),
    ClassMember("comfy_execution/utils.py", "ExecutionContext", "prompt_id"),
    ClassMember("comfy_execution/utils.py", "ExecutionContext", "node_id"),
    # POST /multigpu/validate: stock validation, on the server's route table.
    SourceFunction("execution.py", "validate_prompt", ("prompt_id", "prompt", "partial_execution_list")),
    ClassMember("server.py", "PromptServer", "instance"),
    ClassMember("server.py", "PromptServer", "routes"),
    ClassMember("server.py", "PromptServer", "trigger_on_prompt", ("self", "json_data")),
)

# Absent before v0.33: stock POST /prompt applies node replacements there (server.py, v0.33.0).
OPTIONAL = (
    ClassMember("server.py", "PromptServer", "node_replace_manager"),
    ClassMember("app/node_replace_manager.py", "NodeReplaceManager", "apply_replacements", ("self", "prompt")),
)
