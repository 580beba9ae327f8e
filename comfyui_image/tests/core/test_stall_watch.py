"""A silent worker's prompt is interrupted, then its worker killed (core/stall_watch.py)."""
from multigpu.core.stall_watch import INTERRUPT, KILL, UNKILLABLE, StallWatch


def test_silence_past_the_threshold_interrupts_once_then_kills_once_after_the_grace():
    now = [0.0]
    watch = StallWatch(10, 5, clock=lambda: now[0])
    now[0] = 9.9
    assert watch.check() is None
    now[0] = 10.0
    assert watch.check() == INTERRUPT and watch.check() is None
    now[0] = 15.0
    assert watch.check() == KILL and watch.check() is None


def test_a_message_restarts_the_count_and_a_zero_threshold_never_fires():
    now = [0.0]
    watch = StallWatch(10, 5, clock=lambda: now[0])
    now[0] = 10.0
    assert watch.check() == INTERRUPT
    watch.heard()
    now[0] = 19.0
    assert watch.check() is None
    off = StallWatch(0, 5, clock=lambda: now[0])
    now[0] = 10**6
    assert off.check() is None


def test_a_run_still_going_a_grace_after_the_kill_is_given_up_once():
    # A worker stuck in the GPU driver outlives SIGKILL; its prompt must not wait for ever.
    now = [0.0]
    watch = StallWatch(10, 5, clock=lambda: now[0])
    now[0] = 10.0
    assert watch.check() == INTERRUPT
    now[0] = 15.0
    assert watch.check() == KILL
    now[0] = 19.9
    assert watch.check() is None
    now[0] = 20.0
    assert watch.check() == UNKILLABLE and watch.check() is None
