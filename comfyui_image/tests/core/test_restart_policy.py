"""When a dead worker process is restarted, and how its exit is named (core/restart_policy.py)."""
from multigpu.core.restart_policy import RestartPolicy, describe_exit


def test_an_exit_names_the_gpu_and_the_signal_or_code():
    assert describe_exit(1, -9) == "ComfyUI for GPU 1 exited with signal 9 (SIGKILL: out of memory?)"
    assert describe_exit(0, -15) == "ComfyUI for GPU 0 exited with signal 15 (SIGTERM)"
    assert describe_exit(2, 3) == "ComfyUI for GPU 2 exited with code 3"


def test_delays_double_up_to_the_maximum_and_reset_once_the_worker_answered():
    now = [0.0]
    policy = RestartPolicy(clock=lambda: now[0], first_delay_s=1, max_delay_s=4, max_starts=99)
    assert [policy.next_delay() for _ in range(4)] == [1, 2, 4, 4]
    policy.answered()
    assert policy.next_delay() == 1


def test_too_many_starts_within_the_window_give_up_until_old_ones_leave_it():
    now = [0.0]
    policy = RestartPolicy(clock=lambda: now[0], max_starts=2, window_s=600)
    policy.started()
    policy.started()
    assert policy.next_delay() is None
    now[0] = 601.0
    assert policy.next_delay() == 1.0


def test_an_exit_becomes_a_short_metric_label():
    from multigpu.core.restart_policy import exit_reason
    assert (exit_reason(-9), exit_reason(3)) == ("signal_9", "code_3")
