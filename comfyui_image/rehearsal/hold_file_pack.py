"""A rehearsal-only node pack whose node loads a model file with ComfyUI's own load_torch_file and keeps
it, as a GPU's model keeps its weights while loaded: the worker's memory series then show what the file
costs in each process (stock nodes copy weights into a private model on the CPU, which hides it).
"""
from __future__ import annotations

import pathlib

HOLD_FILE_PACK = """
import comfy.utils

HELD = {}  # path -> state dict, for the life of the process


class RehearsalHoldModelFile:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"path": ("STRING", {"default": ""})}}
    RETURN_TYPES = ()
    FUNCTION = "run"
    OUTPUT_NODE = True
    CATEGORY = "rehearsal"

    def run(self, path):
        state = comfy.utils.load_torch_file(path)
        for tensor in state.values():
            tensor.sum()  # read every page, as a copy to the GPU would
        HELD[path] = state
        return {"ui": {"tensors": [len(state)]}}


NODE_CLASS_MAPPINGS = {"RehearsalHoldModelFile": RehearsalHoldModelFile}
"""


def write_hold_file_pack(base_dir: pathlib.Path) -> None:
    pack = base_dir / "custom_nodes" / "rehearsal_hold_file_pack"
    pack.mkdir(parents=True, exist_ok=True)
    (pack / "__init__.py").write_text(HOLD_FILE_PACK)


def hold_model_file(path: pathlib.Path) -> dict:
    """The prompt: one output node, so it runs on its own."""
    return {"1": {"class_type": "RehearsalHoldModelFile", "inputs": {"path": str(path)}}}
