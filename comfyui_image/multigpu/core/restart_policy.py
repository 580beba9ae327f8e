"""When to restart a worker process that exited, and how to name its exit (process mode).

Pure: the supervisor (front/supervisor.py) passes the clock. Delays double from `first_delay_s`
up to `max_delay_s`; after `max_starts` starts within `window_s` the policy gives up (None), so
a worker that cannot start stops burning the node, and with every GPU out of service /healthz
fails and the kubelet restarts the pod (core/pool.py).
"""
from __future__ import annotations

import signal
from collections import deque
from typing import Callable, Deque, Optional

# Why a process usually gets each signal, for the operator reading the error.
_SIGNAL_HINTS = {signal.SIGKILL: "out of memory?", signal.SIGSEGV: "a native crash",
                 signal.SIGABRT: "a native abort"}


def describe_exit(gpu: int, returncode: int) -> str:
    """'ComfyUI for GPU 1 exited with signal 9 (SIGKILL: out of memory?)' or '... with code 3'."""
    if returncode < 0:
        number = -returncode
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        hint = _SIGNAL_HINTS.get(number)
        return f"ComfyUI for GPU {gpu} exited with signal {number} ({name}{': ' + hint if hint else ''})"
    return f"ComfyUI for GPU {gpu} exited with code {returncode}"


def exit_reason(returncode: int) -> str:
    """A metric label for an exit: "signal_9", "code_3"."""
    return f"signal_{-returncode}" if returncode < 0 else f"code_{returncode}"


class RestartPolicy:
    def __init__(self, *, clock: Callable[[], float], first_delay_s: float = 1.0,
                 max_delay_s: float = 60.0, max_starts: int = 5, window_s: float = 600.0):
        if first_delay_s <= 0 or max_delay_s < first_delay_s:
            raise ValueError("restart delays must satisfy 0 < first_delay_s <= max_delay_s")
        if max_starts < 1 or window_s <= 0:
            raise ValueError("max_starts must be >= 1 and window_s > 0")
        self._clock = clock
        self._first, self._max = first_delay_s, max_delay_s
        self._max_starts, self._window = max_starts, window_s
        self._starts: Deque[float] = deque()
        self._delay = first_delay_s

    def started(self) -> None:
        self._starts.append(self._clock())

    def answered(self) -> None:
        """The worker came up and served: the next crash starts from the first delay again."""
        self._delay = self._first

    def next_delay(self) -> Optional[float]:
        """Seconds to wait before the next start, or None to give up."""
        now = self._clock()
        while self._starts and now - self._starts[0] > self._window:
            self._starts.popleft()
        if len(self._starts) >= self._max_starts:
            return None
        delay, self._delay = self._delay, min(self._delay * 2, self._max)
        return delay
