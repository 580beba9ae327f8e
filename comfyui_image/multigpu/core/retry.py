"""Retry a prompt once on the same GPU after CUDA ran out of memory.

The first failure stays hidden from the client (the executor holds back its error message when
`last_attempt` is False); only the last attempt's failure is reported.
"""
from __future__ import annotations

import logging
from typing import Callable, Tuple

from .executor import ExecutionResult

log = logging.getLogger("multigpu.retry")


def run_with_oom_retry(
    execute: Callable[[bool], ExecutionResult],
    recover: Callable[[], None],
    prompt_id: str,
    retries: int = 1,
) -> Tuple[ExecutionResult, int]:
    """Returns the final result and how many attempts ran out of memory."""
    ooms = 0
    for attempt in range(retries + 1):
        last_attempt = attempt == retries
        result = execute(last_attempt)
        if not result.out_of_memory:
            return result, ooms
        ooms += 1
        if last_attempt:
            return result, ooms
        log.warning("OOM for prompt %s, clearing cache", prompt_id)
        recover()
        log.warning("Cache cleared, retrying...")
    raise AssertionError("unreachable: the loop returns on its last attempt")
