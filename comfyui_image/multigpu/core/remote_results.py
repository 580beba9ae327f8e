"""What a worker's answers mean for the core (process mode): a refused prompt, a history entry.
Pure."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from .executor import ExecutionResult
from .faults import looks_like_out_of_memory
from .task import Task


def refused_result(task: Task, status: int, body: Any) -> ExecutionResult:
    """The worker refused the prompt (e.g. a file it names vanished since the front validated
    it): the workflow's fault, reported as stock reports a refused prompt."""
    detail = body.get("error", {}).get("message") if isinstance(body, dict) else None
    message = f"the GPU's ComfyUI refused the prompt (HTTP {status}): {detail or body!r}"
    error = {"prompt_id": task.prompt_id, "exception_message": message,
             "exception_type": "PromptRefused", "node_errors": (body or {}).get("node_errors")
             if isinstance(body, dict) else None}
    return ExecutionResult(success=False, messages=[("execution_error", error)], error=message,
                           gpu_fault=False)


def result_from_history(gpu_id: int, prompt_id: str, entry: Optional[dict]) -> ExecutionResult:
    """The ExecutionResult of a worker's history entry (the stock shape, execution.py task_done)."""
    if not isinstance(entry, dict):
        message = f"ComfyUI for GPU {gpu_id} ended prompt {prompt_id} without a history entry"
        return ExecutionResult(success=False, error=message, gpu_fault=True,
                               messages=[("execution_error", {"prompt_id": prompt_id,
                                                              "exception_message": message})])
    status = entry.get("status") or {}
    messages: List[Tuple[str, Dict[str, Any]]] = [
        (m[0], m[1]) for m in status.get("messages", []) if isinstance(m, (list, tuple)) and len(m) == 2]
    success = status.get("status_str") == "success"
    errors = [data for event, data in messages if event == "execution_error"]
    interrupted = any(event == "execution_interrupted" for event, _ in messages)
    error = errors[-1] if errors else None
    out_of_memory = bool(error) and looks_like_out_of_memory(
        str(error.get("exception_type", "")), str(error.get("exception_message", "")))
    return ExecutionResult(success=success, outputs=entry.get("outputs") or {},
                           meta=entry.get("meta") or {}, messages=messages,
                           out_of_memory=out_of_memory, interrupted=interrupted,
                           error=str(error.get("exception_message")) if error else None)
