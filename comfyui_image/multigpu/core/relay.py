"""What the front does with one message from a worker's WebSocket (process mode).

Each worker runs at most one prompt (late binding, depth 1) and sends every message of it to the
front's one socket, so the prompt a message belongs to is known from its `prompt_id`:
- the running prompt's messages go to the client that submitted it (RELAY);
- its final `executing {node: null}` is kept (END): the core announces the end once the front's
  history holds the result, as thread mode does (core/worker.py `complete`);
- its ending message (`execution_success`, `execution_interrupted`, a last attempt's
  `execution_error`) is deferred (DEFER) to that same moment, so a client that stops listening at it
  finds the prompt in /history (stock sends it before storing history; the simulator never did);
- an out-of-memory `execution_error` of an attempt the core will retry is held back (HOLD), as
  the thread-mode executor hides it (core/retry.py);
- a message of any other prompt is stale (DROP);
- `executing` without a prompt id is stock's replay of the current node to a reconnecting socket:
  the running prompt's (RELAY), or stale (DROP);
- `status` is the worker's own queue, which clients must not see (DROP: the front broadcasts the
  pool's); `feature_flags` is the worker's answer to the front (DROP); any other message without
  a prompt id is a worker-wide notice (BROADCAST, e.g. a custom node's).
Pure: no I/O, no aiohttp.
"""
from __future__ import annotations

from typing import Optional

from .faults import looks_like_out_of_memory
from .previews import metadata_of

RELAY = "relay"
END = "end"
HOLD = "hold"
DEFER = "defer"
DROP = "drop"
BROADCAST = "broadcast"

_WORKER_ONLY = ("status", "feature_flags")
_ENDINGS = ("execution_success", "execution_interrupted", "execution_error")


def relay_decision(event: str, data: object, running_prompt_id: Optional[str],
                   last_attempt: bool) -> str:
    if event in _WORKER_ONLY:
        return DROP
    prompt_id = data.get("prompt_id") if isinstance(data, dict) else None
    if prompt_id is None and event == "executing":
        # Stock re-sends the current node, without its prompt, to the front's reconnecting socket
        # (server.py websocket_handler): the running prompt's, so not for every client.
        return RELAY if running_prompt_id is not None else DROP
    if prompt_id is None:
        return BROADCAST
    if prompt_id != running_prompt_id:
        return DROP
    if event == "executing" and data.get("node") is None:
        return END
    if event == "execution_error" and not last_attempt and looks_like_out_of_memory(
            str(data.get("exception_type", "")), str(data.get("exception_message", ""))):
        return HOLD
    if event in _ENDINGS:
        return DEFER
    return RELAY


def binary_decision(frame: bytes, running_prompt_id: Optional[str]) -> str:
    """A binary frame (core/previews.py) goes to the running prompt's client: a type-4 preview
    names its prompt; type 1 and 3 frames do not, and depth 1 makes them the running prompt's."""
    if running_prompt_id is None:
        return DROP
    metadata = metadata_of(frame)
    if metadata is not None and metadata.get("prompt_id") not in (None, running_prompt_id):
        return DROP
    return RELAY
