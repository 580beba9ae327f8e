"""When a worker running a prompt has gone silent too long (process mode, design 3.6).

A prompt whose worker sends nothing for `stall_s` seconds gets a targeted interrupt; if the
worker is still silent `grace_s` later, it is killed (and the crash path fails the prompt and
restarts it). A worker that has still not exited `grace_s` after the kill (stuck in the GPU
driver: SIGKILL waits for the driver call to return) is given up on once, so its prompt fails and
its GPU leaves service instead of both waiting for ever. `stall_s` 0 turns the watch off: a long VAE decode or model load is silent, so the
threshold is minutes (COMFY_WORKER_STALL_S, default 1800). Pure: the caller passes the clock.
"""
from __future__ import annotations

from typing import Callable, Optional

INTERRUPT = "interrupt"
KILL = "kill"
UNKILLABLE = "unkillable"


class StallWatch:
    def __init__(self, stall_s: float, grace_s: float, clock: Callable[[], float]):
        if stall_s < 0 or grace_s < 0:
            raise ValueError("stall_s and grace_s must be >= 0")
        self._stall_s, self._grace_s, self._clock = stall_s, grace_s, clock
        self._last_heard = clock()
        self._interrupted_at: Optional[float] = None
        self._killed_at: Optional[float] = None
        self._given_up = False

    def heard(self) -> None:
        """A message arrived from the worker: it is alive and working."""
        self._last_heard = self._clock()
        self._interrupted_at = None

    def silent_s(self) -> float:
        return self._clock() - self._last_heard

    def check(self) -> Optional[str]:
        """INTERRUPT once when the silence reaches stall_s, KILL once when it outlasts the grace,
        UNKILLABLE once when the run has not ended a further grace after the kill; None otherwise."""
        now = self._clock()
        if self._killed_at is not None:
            if self._given_up or now - self._killed_at < self._grace_s:
                return None
            self._given_up = True
            return UNKILLABLE
        if not self._stall_s or self.silent_s() < self._stall_s:
            return None
        if self._interrupted_at is None:
            self._interrupted_at = now
            return INTERRUPT
        if now - self._interrupted_at >= self._grace_s:
            self._killed_at = now
            return KILL
        return None
