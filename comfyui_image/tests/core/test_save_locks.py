"""The front's save-lock release rule (core/save_locks.py), message by message: no threads, no I/O."""
import pytest

from multigpu.core.save_locks import SaveLocks, WorkerGone, save_lock_key

KEY = save_lock_key("/out", "race")
SAVE = ("p1", "9")  # prompt p1's SaveImage node


def executing(node, prompt_id="p1"):
    return "executing", {"node": node, "display_node": node, "prompt_id": prompt_id}


def executed(node, prompt_id="p1"):
    return "executed", {"node": node, "output": {}, "prompt_id": prompt_id}


def locks_held_by_gpu0(node=SAVE, seen_first=True):
    locks = SaveLocks()
    if seen_first:
        locks.heard(0, *executing("9"))
    assert locks.try_take(0, KEY, node, locks.life(0))
    return locks


def test_a_second_worker_is_refused_until_the_holder_sends_its_next_node_message():
    locks = locks_held_by_gpu0()
    assert not locks.try_take(1, KEY, ("p2", "9"), locks.life(1))
    locks.heard(0, "progress", {"value": 1, "max": 2, "prompt_id": "p1", "node": "9"})
    assert not locks.try_take(1, KEY, ("p2", "9"), locks.life(1))
    locks.heard(0, *executed("9"))
    assert locks.try_take(1, KEY, ("p2", "9"), locks.life(1))


def test_the_saving_nodes_own_executing_arriving_after_the_grant_does_not_release():
    locks = locks_held_by_gpu0(seen_first=False)
    locks.heard(0, *executing("8"))  # an earlier node's message, still in flight at the grant
    locks.heard(0, *executed("8"))
    locks.heard(0, *executing("9"))  # the saving node's announcement: arms the hold
    assert not locks.try_take(1, KEY, None, locks.life(1))
    locks.heard(0, *executing(None))  # the prompt's end
    assert locks.try_take(1, KEY, None, locks.life(1))


def test_the_same_node_id_in_an_earlier_prompt_does_not_arm_the_hold():
    locks = locks_held_by_gpu0(seen_first=False)
    locks.heard(0, *executing("9", prompt_id="p0"))
    locks.heard(0, *executed("9", prompt_id="p0"))
    assert not locks.try_take(1, KEY, None, locks.life(1))


def test_a_replayed_executing_without_a_prompt_id_counts_for_nothing():
    locks = locks_held_by_gpu0()
    locks.heard(0, "executing", {"node": "9"})  # stock re-sends this to a reconnecting socket
    assert not locks.try_take(1, KEY, None, locks.life(1))


def test_a_request_naming_no_node_is_released_by_the_next_message_as_in_thread_mode():
    locks = SaveLocks()
    assert locks.try_take(0, KEY, None, locks.life(0))
    locks.heard(0, *executing("9"))
    assert locks.try_take(1, KEY, None, locks.life(1))


def test_the_prompts_end_releases_every_key_the_worker_holds():
    locks = locks_held_by_gpu0()
    other = save_lock_key("/out", "other")
    assert locks.try_take(0, other, SAVE, locks.life(0))  # one node, two prefixes
    assert locks.keys_held() == 2
    locks.prompt_ended(0)
    assert locks.keys_held() == 0


def test_a_request_from_a_later_node_releases_what_the_earlier_node_held():
    locks = locks_held_by_gpu0()
    other = save_lock_key("/out", "other")
    assert locks.try_take(0, other, ("p1", "10"), locks.life(0))
    assert locks.try_take(1, KEY, None, locks.life(1))


def test_the_holders_death_releases_and_its_waiting_request_is_told_it_is_gone():
    locks = locks_held_by_gpu0()
    woken = []
    locks.listen(lambda: woken.append(True))
    life = locks.life(1)
    assert not locks.try_take(1, KEY, None, life)
    locks.worker_exited(1)  # the waiting worker dies: it must not be granted later
    with pytest.raises(WorkerGone):
        locks.try_take(1, KEY, None, life)
    locks.worker_exited(0)
    assert woken == [True, True] and locks.keys_held() == 0
    assert locks.try_take(1, KEY, None, locks.life(1))


def test_listeners_hear_releases_but_not_messages_that_release_nothing():
    locks = locks_held_by_gpu0()
    woken = []
    locks.listen(lambda: woken.append(True))
    locks.heard(1, *executed("3"))
    locks.prompt_ended(1)
    assert woken == []
    locks.heard(0, *executed("9"))
    assert woken == [True]


def test_keys_are_the_folder_and_prefix_as_paths():
    assert save_lock_key("/out/", "sub//race") == save_lock_key("/out", "sub/race")
    assert save_lock_key("/out", "race") != save_lock_key("/out", "race2")
