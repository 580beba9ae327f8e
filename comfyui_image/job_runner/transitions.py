"""The runner's job-state transitions (docs/jobs.md, "State machine"), each one conditional UpdateItem,
as plain parameters: the DynamoDB adapter serializes the values. Times are epoch milliseconds."""
from __future__ import annotations

from typing import Dict, Optional

from .contract import JobsContract

Params = Dict[str, object]

_NAMES = {"#status": "status"}


def _update(contract: JobsContract, job_id: str, expression: str, condition: str,
            values: Dict[str, object], returns: str = "NONE") -> Params:
    return {"Key": {contract.partition_key: contract.job_key(job_id)},
            "UpdateExpression": expression, "ConditionExpression": condition,
            "ExpressionAttributeNames": dict(_NAMES), "ExpressionAttributeValues": values,
            "ReturnValues": returns, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}


def pick_up(contract: JobsContract, job_id: str, *, now_ms: int, lease_ms: int, worker: dict,
            runner: str) -> Params:
    """pending -> in_progress, attempt + 1, the worker (with the prompt id, chosen before submitting, so
    whoever takes over later finds the prompt). Tried first for every message, so the usual case costs
    one call: returns the new item (workflow, owner, our attempt); a failed condition returns the old one
    for decide_pickup."""
    return _update(
        contract, job_id,
        "SET #status = :running, attempt = if_not_exists(attempt, :zero) + :one, worker = :worker, "
        "runner = :runner, lease_until = :lease, execution_start_time = :now, update_time = :now",
        "#status = :pending AND (attribute_not_exists(cancel_requested) OR cancel_requested <> :true)",
        {":running": contract.status.in_progress, ":pending": contract.status.pending, ":zero": 0,
         ":one": 1, ":worker": worker, ":runner": runner, ":lease": now_ms + lease_ms, ":now": now_ms,
         ":true": True},
        returns="ALL_NEW")


def take_over(contract: JobsContract, job_id: str, *, now_ms: int, lease_ms: int, seen_attempt: int,
              runner: str) -> Params:
    """An in_progress job whose lease lapsed (its runner died or let go): attempt + 1, the worker kept so
    its prompt can be adopted. The attempt seen is part of the condition: of two runners racing, one wins."""
    return _update(
        contract, job_id,
        "SET attempt = :next, runner = :runner, lease_until = :lease, update_time = :now",
        "#status = :running AND lease_until < :now AND attempt = :seen",
        {":running": contract.status.in_progress, ":seen": seen_attempt, ":next": seen_attempt + 1,
         ":runner": runner, ":lease": now_ms + lease_ms, ":now": now_ms})


def _mine(contract: JobsContract) -> str:
    return "#status = :running AND attempt = :attempt"


def set_worker(contract: JobsContract, job_id: str, *, attempt: int, worker: dict, now_ms: int) -> Params:
    """After a takeover that found no prompt to adopt: the new worker before submitting again."""
    return _update(contract, job_id, "SET worker = :worker, update_time = :now", _mine(contract),
                   {":running": contract.status.in_progress, ":attempt": attempt, ":worker": worker,
                    ":now": now_ms})


def heartbeat(contract: JobsContract, job_id: str, *, attempt: int, now_ms: int, lease_ms: int,
              progress: Optional[dict] = None) -> Params:
    """Lease (and progress) refresh; returns the new item so the runner sees cancel_requested."""
    expression = "SET lease_until = :lease, update_time = :now"
    values = {":running": contract.status.in_progress, ":attempt": attempt, ":lease": now_ms + lease_ms,
              ":now": now_ms}
    if progress is not None:
        expression += ", progress = :progress"
        values[":progress"] = progress
    return _update(contract, job_id, expression, _mine(contract), values, returns="ALL_NEW")


def finish(contract: JobsContract, job_id: str, *, attempt: int, status: str, now_ms: int,
           outputs: Optional[list] = None, error: Optional[dict] = None,
           progress: Optional[dict] = None) -> Params:
    """in_progress -> completed | failed | cancelled, exactly once: a second completion fails the
    condition because the first changed the status."""
    if status not in contract.terminal_statuses:
        raise ValueError(f"finish needs a terminal status {contract.terminal_statuses}, got {status!r}")
    expression = "SET #status = :status, execution_end_time = :now, update_time = :now"
    values = {":running": contract.status.in_progress, ":attempt": attempt, ":status": status,
              ":now": now_ms}
    if outputs is not None:
        expression += ", outputs = :outputs"
        values[":outputs"] = outputs
    if error is not None:
        expression += ", execution_error = :error"
        values[":error"] = error
    if progress is not None:
        expression += ", progress = :progress"
        values[":progress"] = progress
    return _update(contract, job_id, expression + " REMOVE lease_until", _mine(contract), values)


def release(contract: JobsContract, job_id: str, *, attempt: int, now_ms: int) -> Params:
    """SIGTERM: the lease ends now and the worker stays, so the next runner adopts the running prompt."""
    return _update(contract, job_id, "SET lease_until = :now, update_time = :now", _mine(contract),
                   {":running": contract.status.in_progress, ":attempt": attempt, ":now": now_ms})


def hand_back(contract: JobsContract, job_id: str, *, attempt: int, now_ms: int) -> Params:
    """in_progress -> pending: the prompt is gone with its pod, so the job runs again from the start."""
    return _update(contract, job_id,
                   "SET #status = :pending, update_time = :now REMOVE worker, lease_until, progress",
                   _mine(contract),
                   {":running": contract.status.in_progress, ":attempt": attempt,
                    ":pending": contract.status.pending, ":now": now_ms})


def cancel_pending(contract: JobsContract, job_id: str, *, now_ms: int) -> Params:
    """A pending job flagged cancel_requested (handed back while a cancel was asked): cancelled."""
    return _update(contract, job_id,
                   "SET #status = :cancelled, execution_end_time = :now, update_time = :now",
                   "#status = :pending AND cancel_requested = :true",
                   {":pending": contract.status.pending, ":cancelled": contract.status.cancelled,
                    ":true": True, ":now": now_ms})
