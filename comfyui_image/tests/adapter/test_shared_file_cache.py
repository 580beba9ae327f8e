"""The pure weights cache: single-flight loads, shared values, LRU eviction of unused entries."""
import threading
import time

import pytest

from multigpu.core.shared_file_cache import SharedFileCache


def sized(key, value):
    return len(value)


def test_four_threads_asking_at_once_load_the_file_once_and_share_the_value():
    cache = SharedFileCache(max_bytes=1000, size_of=sized)
    calls = []
    start = threading.Barrier(4)

    def slow_load():
        calls.append(1)
        time.sleep(0.05)
        return b"x" * 10

    results = []

    def worker():
        start.wait()
        results.append(cache.acquire("ckpt", slow_load))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert len(results) == 4 and all(r is results[0] for r in results)
    assert cache.users("ckpt") == 4
    assert cache.stats()["hits"] == 3


def test_unused_entries_are_evicted_least_recently_used_first_when_over_the_byte_bound():
    cache = SharedFileCache(max_bytes=25, size_of=sized)
    for key in ("a", "b"):
        cache.acquire(key, lambda: b"x" * 10)
        cache.release(key)
    cache.acquire("a", lambda: pytest.fail("a is cached"))  # a becomes most recent
    cache.release("a")
    cache.acquire("c", lambda: b"x" * 10)
    assert cache.keys() == ["a", "c"]
    assert cache.total_bytes == 20


def test_entries_in_use_are_never_evicted_even_over_the_bound():
    cache = SharedFileCache(max_bytes=15, size_of=sized)
    cache.acquire("a", lambda: b"x" * 10)
    cache.acquire("b", lambda: b"x" * 10)
    assert cache.keys() == ["a", "b"]
    assert cache.total_bytes == 20
    cache.release("a")
    assert cache.keys() == ["b"]


def test_a_failed_load_reaches_the_caller_and_the_next_call_tries_again():
    cache = SharedFileCache(max_bytes=100, size_of=sized)

    def broken():
        raise ValueError("corrupt file")

    with pytest.raises(ValueError, match="corrupt"):
        cache.acquire("a", broken)
    assert cache.keys() == []
    assert cache.acquire("a", lambda: b"ok") == b"ok"


def test_release_from_inside_the_lock_holder_is_deferred_not_deadlocked():
    cache = SharedFileCache(max_bytes=5, size_of=sized)
    cache.acquire("a", lambda: b"x" * 10)
    with cache._lock:  # as if a GC finalizer ran while this thread held the lock
        cache.release("a")
    assert cache.keys() == ["a"]
    cache.acquire("b", lambda: b"x")
    assert "a" not in cache.keys()


def test_negative_bound_is_rejected_with_the_value():
    with pytest.raises(ValueError, match="-1"):
        SharedFileCache(max_bytes=-1, size_of=sized)
