"""Recent browser sessions (core/sessions.py): counted by last connect or prompt within the window, on a fake clock."""
from prometheus_client import CollectorRegistry, generate_latest

from multigpu.core.sessions import RECENT_SESSIONS, SESSION_WINDOW, SessionActivity, expose_sessions


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_session_counts_until_its_last_connect_or_prompt_is_older_than_the_window():
    clock = Clock()
    sessions = SessionActivity(300, clock=clock)
    sessions.seen("tab-a")
    clock.now += 200
    sessions.seen("tab-b")
    assert sessions.recent() == 2
    clock.now += 100  # tab-a's activity is exactly 300 s old: still recent
    assert sessions.recent() == 2
    clock.now += 1
    assert sessions.recent() == 1
    sessions.seen("tab-a")  # a prompt (or reconnect) brings it back
    assert sessions.recent() == 2
    clock.now += 301
    assert sessions.recent() == 0


def test_activity_of_the_same_client_id_counts_once_and_first_connects_without_one_count_apart():
    clock = Clock()
    sessions = SessionActivity(60, clock=clock)
    for _ in range(3):
        sessions.seen("tab-a")
    sessions.seen(None)
    sessions.seen("")
    assert sessions.recent() == 3


def test_the_stalest_sessions_go_first_beyond_the_cap():
    clock = Clock()
    sessions = SessionActivity(60, clock=clock, max_sessions=2)
    for name in ("a", "b", "c"):
        clock.now += 1
        sessions.seen(name)
    clock.now += 58  # a (had it stayed) would still be inside the window; b is, c is
    assert sessions.recent() == 2
    clock.now += 1.5  # b is now 60.5 s old
    assert sessions.recent() == 1


def test_the_gauge_and_its_window_are_on_the_registry():
    clock = Clock()
    registry = CollectorRegistry()
    sessions = SessionActivity(120, clock=clock)
    expose_sessions(registry, sessions)
    sessions.seen("tab-a")
    text = generate_latest(registry).decode()
    assert f"{RECENT_SESSIONS} 1.0" in text and f"{SESSION_WINDOW} 120.0" in text
    clock.now += 121
    assert f"{RECENT_SESSIONS} 0.0" in generate_latest(registry).decode()


def test_a_window_that_is_not_positive_is_refused():
    import pytest
    with pytest.raises(ValueError, match="session window must be > 0"):
        SessionActivity(0, clock=Clock())
