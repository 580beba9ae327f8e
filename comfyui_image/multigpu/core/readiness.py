"""Readiness checks the pool consults for /readyz besides its own workers."""
from __future__ import annotations

import os
from typing import Callable, Optional


def marker_file_check(path: str) -> Callable[[], Optional[str]]:
    """Ready only while `path` exists: the node's model sync writes it once models are complete
    (MODELS_READY_MARKER in the pod)."""

    def check() -> Optional[str]:
        if os.path.exists(path):
            return None
        return f"models not synced yet: {path} does not exist"

    return check
