"""Recent browser sessions: the interactive-use signal the job runner reads for scaling (docs/scaling-design.md,
section 3) as the `comfyui_ws_sessions_recent` gauge.

A session is a browser tab's WebSocket client id. Its activity is its last `/ws` connect or its last prompt, and it
counts while that activity is at most `window_seconds` old: an open tab that does nothing lets the GPUs go.
"Browser" means the request carried an `Origin` header: browsers send one on every WebSocket handshake (RFC 6455,
section 4.1) and on every POST (Fetch standard, "append a request `Origin` header"); the job runner, comfyctl and
other API clients do not, and their prompts count as queued prompts anyway.

A fresh tab's first `/ws` connect has no clientId (ComfyUI assigns one and the tab reuses it on reconnects and
prompts), so that connect counts under a key of its own: one tab may count twice for one window.
"""
from __future__ import annotations

import itertools
import threading
from typing import Callable, Dict, Iterator, Optional

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric

#: Series names, also in lib/names.ts (COMFYUI_PROMETHEUS_METRICS.sessionSeries) and read by job_runner/scaling.py.
RECENT_SESSIONS = "comfyui_ws_sessions_recent"
SESSION_WINDOW = "comfyui_ws_session_window_seconds"
#: Config sessionActivityMinutes' default (lib/config-scaling.ts), in seconds.
DEFAULT_WINDOW_SECONDS = 300.0
#: Sessions remembered at most; beyond it the stalest go first (a flood of client ids cannot grow memory).
MAX_SESSIONS = 10_000


class SessionActivity:
    """Thread-safe: prompts arrive on aiohttp's loop, and custom nodes may queue from their own threads."""

    def __init__(self, window_seconds: float = DEFAULT_WINDOW_SECONDS, *, clock: Callable[[], float],
                 max_sessions: int = MAX_SESSIONS) -> None:
        if window_seconds <= 0:
            raise ValueError(f"session window must be > 0 seconds, got {window_seconds!r}")
        self.window_seconds = float(window_seconds)
        self._clock, self._max = clock, max_sessions
        self._last: Dict[str, float] = {}
        self._anonymous = itertools.count(1)
        self._lock = threading.Lock()

    def seen(self, client_id: Optional[str]) -> None:
        """A browser connected or prompted now; None or '' (a first connect) counts under a key of its own."""
        key = client_id if client_id else f"\0anonymous-{next(self._anonymous)}"
        with self._lock:
            self._last.pop(key, None)  # re-inserted last: the dict stays ordered oldest activity first
            self._last[key] = self._clock()
            while len(self._last) > self._max:
                del self._last[next(iter(self._last))]

    def recent(self) -> int:
        """Sessions whose last activity is at most window_seconds old; older ones are forgotten."""
        cutoff = self._clock() - self.window_seconds
        with self._lock:
            stale = list(itertools.takewhile(lambda key: self._last[key] < cutoff, self._last))
            for key in stale:
                del self._last[key]
            return len(self._last)


class SessionCollector:
    def __init__(self, sessions: SessionActivity) -> None:
        self._sessions = sessions

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(RECENT_SESSIONS, "Browser sessions (WebSocket client ids) whose last connect or "
                                "prompt is within comfyui_ws_session_window_seconds.",
                                value=self._sessions.recent())
        yield GaugeMetricFamily(SESSION_WINDOW, "How long a browser session's last connect or prompt counts "
                                "as recent (COMFY_SESSION_ACTIVITY_S).", value=self._sessions.window_seconds)


def expose_sessions(registry: CollectorRegistry, sessions: SessionActivity) -> None:
    registry.register(SessionCollector(sessions))
