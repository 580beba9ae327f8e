"""The node types the simulator accepts, and validation errors in ComfyUI's shape
(execution.py validate_prompt / validate_inputs), so clients can test their error handling."""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

SIM_CHECKPOINTS = (
    "sd_xl_base_1.0.safetensors",
    "sd_xl_refiner_1.0.safetensors",
    "v1-5-pruned-emaonly.safetensors",
)

# class_type -> (required inputs, is an output node)
NODE_TYPES: Dict[str, Tuple[Tuple[str, ...], bool]] = {
    "CheckpointLoaderSimple": (("ckpt_name",), False),
    "CLIPTextEncode": (("text", "clip"), False),
    "EmptyLatentImage": (("width", "height", "batch_size"), False),
    "KSampler": (("model", "seed", "steps", "cfg", "sampler_name", "scheduler", "positive",
                  "negative", "latent_image", "denoise"), False),
    "VAEDecode": (("samples", "vae"), False),
    "LoraLoader": (("model", "clip", "lora_name", "strength_model", "strength_clip"), False),
    "SaveImage": (("images", "filename_prefix"), True),
    "PreviewImage": (("images",), True),
    "SimulateOOM": (("times",), False),
    "SimulateGpuFault": ((), False),
    # Kills a simulated stock worker's process (process mode); fails the prompt in thread mode.
    "SimulateCrash": ((), False),
    # Hangs a simulated stock worker's prompt for good (the front's stall watch kills it).
    "SimulateHang": ((), False),
    # Blocks a simulated stock worker's event loop for good (the front's watchdog kills it).
    "SimulateWedge": ((), False),
}


def output_nodes(prompt: dict) -> List[str]:
    """Ids of the nodes whose type is an output node (what ComfyUI executes towards)."""
    return [nid for nid, node in prompt.items() if NODE_TYPES[node["class_type"]][1]]


def _error(kind: str, message: str, details: str = "") -> dict:
    return {"type": kind, "message": message, "details": details, "extra_info": {}}


def validate_prompt(prompt: object, checkpoints=SIM_CHECKPOINTS) -> Optional[dict]:
    """None if valid, else the 400 body ComfyUI would return."""
    if not isinstance(prompt, dict) or not prompt:
        return {"error": _error("no_prompt", "No prompt provided", "No prompt provided"),
                "node_errors": []}
    for node_id, node in prompt.items():
        kind = node.get("class_type") if isinstance(node, dict) else None
        if kind not in NODE_TYPES:
            return {"error": _error("invalid_prompt",
                                    f"Cannot execute because node {kind} does not exist.",
                                    f"Node ID '#{node_id}'"),
                    "node_errors": {}}
    outputs = output_nodes(prompt)
    if not outputs:
        return {"error": _error("prompt_no_outputs", "Prompt has no outputs"), "node_errors": []}
    node_errors = {}
    for node_id, node in prompt.items():
        errors = _input_errors(node, checkpoints)
        if errors:
            node_errors[node_id] = {"errors": errors, "dependent_outputs": outputs,
                                    "class_type": node["class_type"]}
    if node_errors:
        return {"error": _error("prompt_outputs_failed_validation",
                                "Prompt outputs failed validation"),
                "node_errors": node_errors}
    return None


def _input_errors(node: dict, checkpoints) -> List[dict]:
    inputs = node.get("inputs") if isinstance(node.get("inputs"), dict) else {}
    required, _ = NODE_TYPES[node["class_type"]]
    errors = []
    for name in required:
        if name not in inputs:
            errors.append(dict(_error("required_input_missing", "Required input is missing",
                                      name), extra_info={"input_name": name}))
    ckpt = inputs.get("ckpt_name")
    if node["class_type"] == "CheckpointLoaderSimple" and ckpt is not None and ckpt not in checkpoints:
        errors.append(dict(_error("value_not_in_list", "Value not in list",
                                  f"ckpt_name: '{ckpt}' not in {list(checkpoints)}"),
                           extra_info={"input_name": "ckpt_name", "received_value": ckpt}))
    steps = inputs.get("steps")
    if node["class_type"] == "KSampler" and steps is not None and (not isinstance(steps, int) or steps < 1):
        errors.append(dict(_error("value_smaller_than_min", f"Value {steps} smaller than min of 1",
                                  f"steps: {steps}"), extra_info={"input_name": "steps"}))
    return errors
