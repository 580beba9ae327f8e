import threading

from multigpu.core.keyed_locks import KeyedLocks


def test_a_second_owner_waits_until_the_holder_releases_everything():
    locks = KeyedLocks()
    order = []
    locks.acquire(("out", "ComfyUI"), owner=0)
    locks.acquire(("out", "ComfyUI"), owner=0)  # re-entrant, still one hold
    waiting = threading.Event()

    def other():
        waiting.set()
        locks.acquire(("out", "ComfyUI"), owner=1)
        order.append("other")
        locks.release_held(1)

    thread = threading.Thread(target=other)
    thread.start()
    waiting.wait(2)
    order.append("holder")  # the other owner cannot get past acquire before the release below
    assert locks.release_held(0) == 1
    thread.join(5)
    assert order == ["holder", "other"]


def test_different_keys_do_not_block_each_other():
    locks = KeyedLocks()
    locks.acquire("a", owner=0)
    done = threading.Event()
    threading.Thread(target=lambda: (locks.acquire("b", owner=1), done.set(), locks.release_held(1))).start()
    assert done.wait(5)
    locks.release_held(0)


def test_the_owner_releases_what_any_of_its_threads_took():
    locks = KeyedLocks()
    helper = threading.Thread(target=lambda: locks.acquire("k", owner=0))
    helper.start()
    helper.join()
    assert locks.release_held(0) == 1  # from this thread, not the helper
    locks.acquire("k", owner=1)  # would wait forever if the helper's hold had stayed
    assert locks.held_count(1) == 1


def test_released_keys_are_forgotten_so_unique_prefixes_do_not_grow_the_map():
    locks = KeyedLocks()
    for n in range(1000):
        locks.acquire(("out", f"ComfyUI_{n}"), owner=n % 4)
        locks.release_held(n % 4)
    assert locks.keys_held() == 0


def test_try_acquire_takes_a_free_key_refuses_a_held_one_and_never_waits():
    locks = KeyedLocks()
    assert locks.try_acquire("k", owner=0) is True
    assert locks.try_acquire("k", owner=0) is True  # re-entrant, still one hold
    assert locks.try_acquire("k", owner=1) is False
    assert locks.held_count(0) == 1 and locks.held_count(1) == 0
    locks.release_held(0)
    assert locks.try_acquire("k", owner=1) is True
