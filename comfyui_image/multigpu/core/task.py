"""A prompt as the scheduler sees it, and the stock queue-item shape ComfyUI clients expect."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, List, Optional, Tuple

# Inputs whose string value names a model file; used to predict which weights a prompt will load.
MODEL_FILE_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft")
# Keys of a prompt's extra_data that stock ComfyUI moves into the queue item's sensitive slot, so
# that GET /queue and /history never show them (v0.33 execution.py SENSITIVE_EXTRA_DATA_KEYS).
SENSITIVE_EXTRA_DATA_KEYS = ("auth_token_comfy_org", "api_key_comfy_org")


@dataclass
class Task:
    """One queued prompt.

    The first six fields mirror ComfyUI's queue item
    `(number, prompt_id, prompt, extra_data, outputs_to_execute, sensitive)` (server.py, post_prompt).
    """

    number: float
    prompt_id: str
    prompt: Dict[str, Any]
    extra_data: Dict[str, Any] = field(default_factory=dict)
    outputs_to_execute: List[str] = field(default_factory=list)
    sensitive: Dict[str, Any] = field(default_factory=dict)
    # Set when the client pinned a GPU with X-TARGET-GPU; a pinned task is never stolen.
    pinned_gpu: Optional[int] = None
    models: FrozenSet[str] = frozenset()
    enqueued_at: float = field(default_factory=time.monotonic)

    @property
    def client_id(self) -> Optional[str]:
        value = self.extra_data.get("client_id")
        return value if isinstance(value, str) else None

    def queue_item(self) -> Tuple[Any, ...]:
        """The stock 5-tuple shown by GET /queue and stored in history (sensitive data removed)."""
        return (self.number, self.prompt_id, self.prompt, self.extra_data, self.outputs_to_execute)


def models_in_prompt(prompt: Dict[str, Any]) -> FrozenSet[str]:
    """Model file names a prompt refers to (ckpt_name, lora_name, vae_name, unet_name, ...).

    Any string input ending in a model file suffix counts, so custom loader nodes are covered too.
    """
    found = set()
    for node in prompt.values():
        inputs = node.get("inputs") if isinstance(node, dict) else None
        if not isinstance(inputs, dict):
            continue
        for value in inputs.values():
            if isinstance(value, str) and value.lower().endswith(MODEL_FILE_SUFFIXES):
                found.add(value)
    return frozenset(found)
