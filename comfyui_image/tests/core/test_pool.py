import logging
import threading

import pytest

from multigpu.core.interrupt_scope import InterruptRequest
from multigpu.core.pool import GpuPool
from multigpu.core.settings import PoolSettings

from fake_executor import FakeExecutor, make_task, wait_for


@pytest.fixture
def started():
    pools = []

    def start(executor, n=4, **kwargs):
        pool = GpuPool(executor, n, **kwargs)
        pool.start()
        assert pool.wait_until_warm(5)
        pools.append(pool)
        return pool

    yield start
    for pool in pools:
        pool.stop()


def test_start_logs_the_mode_the_queues_and_one_worker_per_gpu(started, caplog):
    caplog.set_level(logging.INFO, logger="multigpu")
    executor = FakeExecutor(4)
    started(executor, 4)
    text = caplog.text
    assert "Multi-GPU mode ENABLED with 4 GPUs" in text
    assert "Created 4 task queues" in text
    for gpu in range(4):
        assert f"Started worker thread for GPU {gpu}" in text
    # Each GPU was bound on its own worker thread.
    assert sorted(executor.bound) == [0, 1, 2, 3]
    assert len(set(executor.bound.values())) == 4


def test_each_gpu_is_logged_ready_before_the_pool_counts_it_warm(caplog):
    """The port opens once the pool is warm (server_hooks.py): the log must say so by then."""
    caplog.set_level(logging.INFO, logger="multigpu")
    pool = GpuPool(FakeExecutor(2), 2)
    warm_when_logged = []

    class Recorder(logging.Handler):
        def emit(self, record):
            if "warmed up and ready" in record.getMessage():
                warm_when_logged.append(pool.workers[record.args[0]].warmed.is_set())

    recorder = Recorder()
    logging.getLogger("multigpu.worker").addHandler(recorder)
    try:
        pool.start()
        assert pool.wait_until_warm(5)
    finally:
        logging.getLogger("multigpu.worker").removeHandler(recorder)
        pool.stop()
    assert warm_when_logged == [False, False]


def test_history_holds_prompts_of_every_gpu_and_completion_is_announced_after_it(started):
    executor = FakeExecutor(4)
    pool = started(executor, 4)
    for gpu in range(4):
        pool.submit(make_task(f"p{gpu}"), gpu)
    wait_for(lambda: len(executor.announced) == 4)
    for gpu in range(4):
        assert pool.history.get(f"p{gpu}")[f"p{gpu}"]["gpu_id"] == gpu


def test_prompts_on_different_gpus_run_at_the_same_time(started):
    executor = FakeExecutor(4)
    gates = {f"p{g}": threading.Event() for g in range(4)}
    executor.hold.update(gates)
    pool = started(executor, 4)
    for gpu in range(4):
        pool.submit(make_task(f"p{gpu}"), gpu)
    wait_for(lambda: len(executor.started) == 4)
    assert pool.queue_all()["total_running"] == 4
    for gate in gates.values():
        gate.set()


def test_interrupt_by_prompt_id_stops_only_that_prompt(started):
    executor = FakeExecutor(2)
    executor.hold.update({"a": threading.Event(), "b": threading.Event()})
    pool = started(executor, 2)
    pool.submit(make_task("a"), 0)
    pool.submit(make_task("b"), 1)
    wait_for(lambda: len(executor.started) == 2)
    assert pool.interrupt(InterruptRequest(prompt_id="b")).gpus == [1]
    wait_for(lambda: pool.history.get("b") != {})
    assert pool.history.get("a") == {}  # still running
    assert pool.running_prompt_ids() == {0: "a"}
    executor.hold["a"].set()


def test_interrupt_by_gpu_by_client_or_everything_and_an_ambiguous_anonymous_one_stops_nothing(started):
    executor = FakeExecutor(4)
    names = ("a", "b", "c", "d")
    executor.hold.update({p: threading.Event() for p in names})
    pool = started(executor, 4)
    for gpu, (name, client) in enumerate(zip(names, ("alice", "bob", "bob", "carol"))):
        pool.submit(make_task(name, client_id=client), gpu)
    wait_for(lambda: len(executor.started) == 4)
    assert pool.interrupt(InterruptRequest(gpu_id=3)).gpus == [3]
    wait_for(lambda: set(pool.running_prompt_ids()) == {0, 1, 2})
    refused = pool.interrupt(InterruptRequest())  # a Cancel that names nothing
    assert refused.gpus == [] and "different clients" in refused.refused
    assert pool.interrupt(InterruptRequest(client_id="bob")).prompt_ids == ["b", "c"]
    wait_for(lambda: set(pool.running_prompt_ids()) == {0})
    assert pool.interrupt(InterruptRequest()).gpus == [0]  # one prompt left: unambiguous
    wait_for(lambda: pool.running_prompt_ids() == {})
    assert pool.interrupt(InterruptRequest(prompt_id="unknown")).gpus == []
    for name in names:
        executor.hold[name + "2"] = threading.Event()
        pool.submit(make_task(name + "2", client_id=name), "abcd".index(name))
    wait_for(lambda: len(pool.running_prompt_ids()) == 4)
    assert pool.interrupt(InterruptRequest(everything=True)).gpus == [0, 1, 2, 3]
    wait_for(lambda: pool.running_prompt_ids() == {})


def test_oom_is_retried_once_on_the_same_gpu_and_only_that_gpu_recovers(started, caplog):
    caplog.set_level(logging.WARNING, logger="multigpu")
    executor = FakeExecutor(2, oom_attempts={"big": 1})
    pool = started(executor, 2)
    pool.submit(make_task("big"), 1)
    wait_for(lambda: "big" in executor.announced)
    assert [e for e in executor.executions if e[1] == "big"] == [(1, "big", False), (1, "big", True)]
    assert executor.recovered == [1]
    assert pool.history.get("big")["big"]["status"]["completed"] is True
    messages = [r.getMessage() for r in caplog.records]
    assert messages.index("OOM for prompt big, clearing cache") < messages.index("Cache cleared, retrying...")


def test_a_second_oom_is_reported_as_the_prompts_failure(started):
    executor = FakeExecutor(1, oom_attempts={"huge": 2})
    pool = started(executor, 1)
    pool.submit(make_task("huge"), 0)
    wait_for(lambda: "huge" in executor.announced)
    assert pool.history.get("huge")["huge"]["status"]["status_str"] == "error"
    assert b'comfyui_gpu_oom_total{gpu="0"} 2.0' in pool.metrics.exposition()[0]


def test_free_applies_to_the_given_gpu_only(started):
    executor = FakeExecutor(3)
    pool = started(executor, 3)
    assert pool.request_free(1, unload_models=True, free_memory=False) == [1]
    wait_for(lambda: executor.freed == [(1, True, False)])


def test_health_names_a_gpu_whose_warmup_failed(started):
    pool = started(FakeExecutor(2, fail_warmup={1}), 2)
    wait_for(lambda: not pool.health()[0])
    healthy, reason = pool.health()
    assert "GPU 1: warmup failed" in reason and "no device 1" in reason
    assert pool.readiness()[0] is False


def test_readiness_waits_for_checks_and_the_queue_depth_limit(started):
    marker = {"present": False}
    executor = FakeExecutor(1)
    executor.hold["a"] = threading.Event()
    pool = started(executor, 1, settings=PoolSettings(max_queue_depth=1),
                   readiness_checks=[lambda: None if marker["present"] else "models not synced yet"])
    assert pool.readiness() == (False, "models not synced yet")
    marker["present"] = True
    assert pool.readiness() == (True, "1 GPUs ready")
    pool.submit(make_task("a"), 0)
    pool.submit(make_task("b"), 0)
    assert pool.readiness() == (False, "2 prompts queued, above COMFY_MAX_QUEUE_DEPTH=1")
    executor.hold["a"].set()


def test_wait_is_measured_from_enqueue_to_start(started):
    executor = FakeExecutor(1)
    executor.hold["first"] = threading.Event()
    pool = started(executor, 1)
    pool.submit(make_task("first"), 0)
    pool.submit(make_task("second"), 0)
    wait_for(lambda: "first" in executor.started)
    threading.Event().wait(0.3)
    executor.hold["first"].set()
    wait_for(lambda: "second" in executor.announced)
    text = pool.metrics.exposition()[0].decode()
    # The second prompt waited >= 0.3 s behind the first: it lands above the 0.25 s bucket.
    assert 'comfyui_gpu_queue_wait_seconds_bucket{gpu="0",le="0.25"} 1.0' in text
    assert 'comfyui_gpu_queue_wait_seconds_count{gpu="0"} 2.0' in text


def test_automatic_routing_spreads_a_burst_and_the_queue_total_is_reported(started):
    executor = FakeExecutor(4)
    executor.hold.update({f"p{i}": threading.Event() for i in range(8)})
    changes = []
    pool = started(executor, 4, on_queue_changed=lambda: changes.append(1))
    gpus = [pool.submit(make_task(f"p{i}")) for i in range(8)]
    assert sorted(gpus) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert pool.tasks_remaining() == 8 and changes
    for gate in executor.hold.values():
        gate.set()
