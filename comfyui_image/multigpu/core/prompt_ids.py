"""Client-supplied prompt ids: ComfyUI v0.33 accepts only a canonical UUID.

v0.33's POST /prompt checks `prompt_id` with `comfy_execution/jobs.py` `validate_job_id` (a
lowercase hyphenated UUID, else 400 `invalid_prompt_id`); v0.8 took any string. Process mode
forwards our prompt id to a stock worker, so the front applies the worker's rule at submit time:
a prompt must never be accepted and then fail on the worker for its id.
"""
from __future__ import annotations

import re
from typing import Optional

RULES = ("any", "uuid")
_CANONICAL_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def prompt_id_problem(value: object, rule: str) -> Optional[dict]:
    """None when `value` may be used as a prompt id under `rule`, else the 400 body.
    The body's type is v0.33's; its message text is ours (unverified against v0.33's wording)."""
    if rule not in RULES:
        raise ValueError(f"prompt id rule must be one of {RULES}, got {rule!r}")
    if rule == "any" or (isinstance(value, str) and _CANONICAL_UUID.match(value)):
        return None
    return {"error": {"type": "invalid_prompt_id",
                      "message": "prompt_id must be a lowercase hyphenated UUID "
                                 "(e.g. str(uuid.uuid4())), or left out to let the server choose",
                      "details": f"got {value!r}", "extra_info": {}},
            "node_errors": {}}
