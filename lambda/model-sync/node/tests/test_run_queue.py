"""model_sync/run_queue.py and deadline.py: requests filed, answered once, merged into one pass; deadlines."""
from __future__ import annotations

import time

import pytest
from model_sync.cache import Cache
from model_sync.deadline import Deadline, DeadlineReached
from model_sync.outcome import EXIT_DEADLINE
from model_sync.run_queue import RunQueue, merged_scope


def test_requests_wait_in_order_until_answered_and_each_answer_is_collected_once(tmp_path):
    queue = RunQueue(Cache(str(tmp_path)))
    first, second = queue.submit({"loras/a.pt"}), queue.submit(None)
    assert queue.pending() == [(first, {"loras/a.pt"}), (second, None)]
    queue.answer([first], 0, "done: 1 downloaded")
    assert queue.pending() == [(second, None)]
    assert queue.collect(first) == {"exit_code": 0, "summary": "done: 1 downloaded"}
    assert queue.collect(first) is None and queue.collect(second) is None


def test_one_pass_serves_many_requests_a_full_one_covers_all():
    assert merged_scope([("a", {"loras/a.pt"}), ("b", {"vae/b.pt", "loras/a.pt"})]) == {"loras/a.pt", "vae/b.pt"}
    assert merged_scope([("a", {"loras/a.pt"}), ("b", None)]) is None


def test_only_one_queue_holds_the_lock(tmp_path):
    one, two = RunQueue(Cache(str(tmp_path))), RunQueue(Cache(str(tmp_path)))
    assert one.try_lock() and not two.try_lock()
    one.unlock()
    assert two.try_lock()
    two.close()


def test_a_deadline_interrupts_the_main_thread_wherever_it_is():
    with pytest.raises(DeadlineReached) as reached:
        with Deadline(time.time() + 0.05).armed():
            time.sleep(30)  # stands for a blocking read of s5cmd's output
    assert reached.value.exit_code == EXIT_DEADLINE and "stopped at its deadline (--stop-by" in str(reached.value)
    with pytest.raises(DeadlineReached):
        with Deadline(time.time() - 1).armed():
            pass
    with Deadline(None).armed():
        pass
