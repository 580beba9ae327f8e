"""How a prompt ended, from ComfyUI's WebSocket messages or its history entry, and the job's
`execution_error` in the shapes docs/jobs.md gives."""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

TRACEBACK_LINES = 20  # docs/jobs.md: the last 20 lines


@dataclass(frozen=True)
class Outcome:
    kind: str  # "success", "error" or "interrupted"
    error: Optional[dict] = None


def execution_error(data: dict) -> dict:
    """From ComfyUI's `execution_error` message (execution.py handle_execution_error)."""
    return {"type": "execution_error",
            "node_id": data.get("node_id"), "node_type": data.get("node_type"),
            "exception_type": data.get("exception_type"),
            "exception_message": data.get("exception_message"),
            "traceback": _last_lines(data.get("traceback"))}


def prompt_rejected(status: int, body: object) -> dict:
    """From POST /prompt's 400 answer: {"error": {"message", ...}, "node_errors": {...}}."""
    body = body if isinstance(body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    message = error.get("message") or (str(body.get("error")) if body.get("error") else f"HTTP {status}")
    if error.get("details"):
        message = f"{message}: {error['details']}"
    return {"type": "prompt_rejected", "exception_message": message,
            "node_errors": body.get("node_errors") or {}}


def outcome_from_message(event: str, data: dict) -> Optional[Outcome]:
    """The end of a prompt, or None for a message that does not end it. `executing` with node None also
    ends a prompt (older ComfyUI sends no execution_success); the caller reads the history then."""
    if event == "execution_success":
        return Outcome("success")
    if event == "execution_error":
        return Outcome("error", execution_error(data))
    if event == "execution_interrupted":
        return Outcome("interrupted")
    return None


def outcome_from_history(entry: dict) -> Outcome:
    """From a history entry: status.status_str and the recorded messages (execution.py task_done)."""
    status = entry.get("status") or {}
    messages = status.get("messages") or []
    for event, data in (m for m in messages if isinstance(m, (list, tuple)) and len(m) == 2):
        if event == "execution_interrupted":
            return Outcome("interrupted")
        if event == "execution_error":
            return Outcome("error", execution_error(data or {}))
    if status.get("status_str") == "error" or status.get("completed") is False:
        return Outcome("error", {"type": "execution_error", "node_id": None, "node_type": None,
                                 "exception_type": None, "traceback": [],
                                 "exception_message": "ComfyUI recorded the prompt as failed"})
    return Outcome("success")


def _last_lines(traceback: object) -> List[str]:
    if isinstance(traceback, str):
        lines = traceback.splitlines()
    elif isinstance(traceback, list):  # ComfyUI sends traceback.format_tb(): entries of several lines
        lines = [line for part in traceback for line in str(part).splitlines()]
    else:
        lines = []
    return lines[-TRACEBACK_LINES:]
