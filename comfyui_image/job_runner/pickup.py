"""What to do with a received message, from its job item (read with a consistent read)."""
from __future__ import annotations

import enum
from typing import Optional

from .contract import JobsContract


class Pickup(enum.Enum):
    DROP = "drop"                  # no such job, or it is terminal: delete the message
    RUN = "run"                    # pending: pick it up and submit
    TAKE_OVER = "take_over"        # in_progress with a lapsed lease: take over, adopt its prompt if alive
    LEAVE = "leave"                # another live runner holds it: leave the message to reappear later
    CANCEL = "cancel"              # pending with cancel_requested: cancel it, nothing runs


def decide_pickup(contract: JobsContract, item: Optional[dict], now_ms: int) -> Pickup:
    if item is None or item.get("status") in contract.terminal_statuses:
        return Pickup.DROP
    if item.get("status") == contract.status.pending:
        return Pickup.CANCEL if item.get("cancel_requested") is True else Pickup.RUN
    if item.get("status") == contract.status.in_progress:
        lease = item.get("lease_until")
        return Pickup.TAKE_OVER if lease is None or int(lease) < now_ms else Pickup.LEAVE
    return Pickup.DROP  # a status the contract does not know: never run it


def leave_for_seconds(item: dict, now_ms: int, floor_seconds: float) -> float:
    """How long a left message stays hidden: until the holder's lease would lapse, at least `floor`."""
    remaining = (int(item.get("lease_until") or 0) - now_ms) / 1000.0
    return max(remaining, floor_seconds)
