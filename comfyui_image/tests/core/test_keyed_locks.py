import threading

from multigpu.core.keyed_locks import KeyedLocks


def test_a_second_thread_waits_until_the_holder_releases_everything():
    locks = KeyedLocks()
    order = []
    locks.acquire(("out", "ComfyUI"))
    locks.acquire(("out", "ComfyUI"))  # re-entrant, still one hold

    def other():
        locks.acquire(("out", "ComfyUI"))
        order.append("other")
        locks.release_held()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(0.1)
    assert order == []
    order.append("holder")
    assert locks.release_held() == 1
    thread.join(2)
    assert order == ["holder", "other"]


def test_different_keys_do_not_block_each_other():
    locks = KeyedLocks()
    locks.acquire("a")
    done = threading.Event()
    threading.Thread(target=lambda: (locks.acquire("b"), done.set(), locks.release_held())).start()
    assert done.wait(2)
    locks.release_held()
