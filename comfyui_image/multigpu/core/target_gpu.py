"""The X-TARGET-GPU header: parsed strictly, because silently clamping a bad value to GPU 0
hides client bugs (the public fork did that)."""
from __future__ import annotations

import re
from typing import Optional

TARGET_GPU_HEADER = "X-TARGET-GPU"
_DIGITS = re.compile(r"[0-9]{1,4}")


class TargetGpuError(ValueError):
    """A header value that names no GPU of this process. The message is safe to return to clients."""

    def __init__(self, raw: str, num_gpus: int):
        self.raw = raw
        self.num_gpus = num_gpus
        super().__init__(
            f"{TARGET_GPU_HEADER} must be an integer in 0..{num_gpus - 1}, got {raw!r}"
        )

    def as_json(self) -> dict:
        return {
            "error": {
                "type": "invalid_target_gpu",
                "message": str(self),
                "header": TARGET_GPU_HEADER,
                "valid_range": [0, self.num_gpus - 1],
            }
        }


def parse_target_gpu(raw: Optional[str], num_gpus: int) -> Optional[int]:
    """None when the header is absent; the GPU index when valid; TargetGpuError otherwise."""
    if raw is None:
        return None
    text = raw.strip()
    if not _DIGITS.fullmatch(text) or int(text) >= num_gpus:
        raise TargetGpuError(raw, num_gpus)
    return int(text)
