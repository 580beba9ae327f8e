"""A job's `progress` map, folded from ComfyUI's WebSocket messages for its prompt, and the write bound."""
from __future__ import annotations

from typing import Dict, Optional, Set


class ProgressTracker:
    def __init__(self, prompt: dict) -> None:
        self._types = {str(k): v.get("class_type") for k, v in prompt.items() if isinstance(v, dict)}
        self._done: Set[str] = set()
        self._node: Optional[str] = None
        self._step: Optional[int] = None
        self._steps: Optional[int] = None
        self._written: Optional[Dict[str, object]] = None

    def apply(self, event: str, data: dict) -> None:
        if event == "execution_cached":
            self._done.update(str(n) for n in data.get("nodes") or [])
        elif event == "executing" and data.get("node") is not None:
            if self._node is not None:
                self._done.add(self._node)
            self._node, self._step, self._steps = str(data["node"]), None, None
        elif event == "progress":
            self._node = str(data.get("node") or self._node)
            self._step, self._steps = data.get("value"), data.get("max")
        elif event == "executed" and data.get("node") is not None:
            self._done.add(str(data["node"]))

    def snapshot(self) -> Dict[str, object]:
        return {"node": self._node, "node_type": self._types.get(self._node or ""),
                "step": self._step, "steps": self._steps,
                "nodes_done": len(self._done), "nodes_total": len(self._types)}

    def take_if_changed(self) -> Optional[Dict[str, object]]:
        """The snapshot when it differs from the last one taken, else None."""
        current = self.snapshot()
        if current == self._written:
            return None
        self._written = current
        return current


def write_due(now: float, last_write: Optional[float], min_interval: float) -> bool:
    """progressMinIntervalSeconds (jobs_contract.json): at most one progress write per interval."""
    return last_write is None or now - last_write >= min_interval
