"""A per-GPU circuit breaker: a GPU whose prompts keep failing through no fault of theirs is taken
out of service instead of becoming the fastest-looking queue on the node.

- Closed (in service): every GPU fault (core/faults.py) adds one to a count that any success
  resets; workflow faults and interrupts leave it alone. At `threshold` consecutive GPU faults
  the breaker opens.
- Open (out of service): routing skips the GPU, its worker neither takes nor steals prompts (the
  other workers steal its unpinned ones; pinned ones wait), and every `probe_seconds` the worker
  calls the executor's probe. A failed probe doubles the wait, up to `probe_max_seconds`.
- A passed probe puts the GPU back in service on probation: the count stays one short of the
  threshold, so the next GPU fault opens it again at once (with the doubled wait), and a success
  ends the probation and resets the wait.
Every method is thread-safe: the worker records, the HTTP thread reads.
"""
from __future__ import annotations

import threading
from typing import Callable, Dict, Optional


class GpuBreaker:
    def __init__(self, gpu_id: int, *, threshold: int, probe_seconds: float,
                 probe_max_seconds: float, clock: Callable[[], float]):
        """`threshold` 0 turns the breaker off (it never opens)."""
        self.gpu_id = gpu_id
        self._threshold = threshold
        self._probe_base = probe_seconds
        self._probe_max = max(probe_max_seconds, probe_seconds)
        self._clock = clock
        self._lock = threading.Lock()
        self._open = False
        self._consecutive = 0
        self._wait = probe_seconds
        self._next_probe_at = 0.0
        self._last_fault: Optional[str] = None
        self._last_probe: Optional[str] = None
        self._probes_failed = 0
        self._tripped = False  # opened by trip(), not by counting faults
        self.trips = 0

    @property
    def open(self) -> bool:
        with self._lock:
            return self._open

    def record_success(self) -> None:
        with self._lock:
            self._consecutive = 0
            self._wait = self._probe_base

    def record_gpu_fault(self, detail: str) -> bool:
        """Count one GPU fault; True when this one opened the breaker."""
        with self._lock:
            self._last_fault = detail
            self._consecutive += 1
            if self._open or not self._threshold or self._consecutive < self._threshold:
                return False
            self._open = True
            self._tripped = False
            self.trips += 1
            self._probes_failed = 0
            self._next_probe_at = self._clock() + self._wait
            return True

    def trip(self, detail: str) -> bool:
        """Open now, whatever the count: the GPU is known to be broken (process mode: its worker
        process exited). True when this call opened it."""
        with self._lock:
            self._last_fault = detail
            if self._open:
                return False
            self._open = True
            self._tripped = True
            self._consecutive = max(self._consecutive, self._threshold)
            self.trips += 1
            self._probes_failed = 0
            self._next_probe_at = self._clock() + self._wait
            return True

    def probe_due(self) -> bool:
        with self._lock:
            return self._open and self._clock() >= self._next_probe_at

    def record_probe(self, error: Optional[str]) -> bool:
        """The probe's outcome (None = passed); True when the GPU is back in service."""
        with self._lock:
            if error is None:
                self._open = False
                self._consecutive = max(self._threshold - 1, 0)  # probation
                self._last_probe = "passed"
                self._wait = min(self._wait * 2, self._probe_max)
                return True
            self._probes_failed += 1
            self._last_probe = f"failed: {error}"
            self._wait = min(self._wait * 2, self._probe_max)
            self._next_probe_at = self._clock() + self._wait
            return False

    def describe(self) -> Dict[str, object]:
        """For /queue/all: {"state": "in_service"}, or "broken" with the last GPU fault, seconds to
        the next probe and how many probes failed."""
        with self._lock:
            state: Dict[str, object] = {"state": "broken" if self._open else "in_service"}
            if self._open:
                state["last_gpu_fault"] = self._last_fault
                state["next_probe_in_s"] = round(max(self._next_probe_at - self._clock(), 0.0), 3)
                state["probes_failed"] = self._probes_failed
            return state

    def reason(self) -> str:
        with self._lock:
            probe = f"; last probe {self._last_probe}" if self._last_probe else ""
            if self._tripped:
                return f"GPU {self.gpu_id}: out of service: {self._last_fault}{probe}"
            return (f"GPU {self.gpu_id}: out of service after {self._threshold} consecutive GPU "
                    f"faults (last: {self._last_fault}){probe}")
