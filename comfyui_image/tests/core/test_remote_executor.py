"""RemoteExecutor's own logic against a scripted worker link (no I/O); the same executor against
real simulated workers over loopback is tests/front/."""
import threading

import pytest

from multigpu.core import remote_executor
from multigpu.core.executor import ExecutionResult
from multigpu.core.pool import GpuPool
from multigpu.core.remote_executor import RemoteExecutor, forward_body
from multigpu.core.remote_results import result_from_history
from multigpu.core.save_locks import save_lock_key
from multigpu.core.settings import PoolSettings
from multigpu.core.task import Task

OOM = {"exception_type": "torch.OutOfMemoryError", "exception_message": "CUDA out of memory"}


class ScriptedLink:
    """A worker that, when given a prompt, sends the scripted messages (before answering, as a
    fast worker may) and keeps a history entry for it."""

    def __init__(self, messages, entry, status=200):
        self.messages, self.entry, self.status = messages, entry, status
        self.executor = None
        self.calls = []

    def post_prompt(self, body):
        self.calls.append(("prompt", body))
        if self.status == 200:
            for event, data in self.messages:
                self.executor.on_message(0, event, dict(data, prompt_id=body["prompt_id"]))
        return self.status, {"error": {"message": "Value not in list"}, "node_errors": {"4": {}}}

    def history(self, prompt_id):
        return {prompt_id: self.entry}

    def delete_history(self, prompt_id):
        self.calls.append(("delete", prompt_id))

    def delete_queued(self, prompt_id):
        self.calls.append(("delete_queued", prompt_id))

    def interrupt(self, prompt_id):
        self.calls.append(("interrupt", prompt_id))

    def free(self, unload_models, free_memory):
        self.calls.append(("free", unload_models, free_memory))

    def wait_up(self, timeout):
        pass

    def probe(self):
        pass


def executor_with(link):
    sent = []
    executor = RemoteExecutor([link], lambda event, data, client: sent.append((event, data, client)))
    link.executor = executor
    return executor, sent


def task(prompt_id="p1"):
    return Task(number=0, prompt_id=prompt_id, prompt={"9": {"class_type": "SaveImage"}},
                extra_data={"client_id": "alice", "extra_pnginfo": {"workflow": {}}},
                sensitive={"api_key_comfy_org": "secret"})


def success_entry():
    return {"outputs": {"9": {"images": [{"filename": "a.png"}]}}, "meta": {"9": {}},
            "status": {"status_str": "success", "completed": True,
                       "messages": [["execution_start", {"prompt_id": "p1"}],
                                    ["execution_success", {"prompt_id": "p1"}]]}}


def test_the_worker_gets_our_prompt_id_and_the_fronts_client_id_with_the_sensitive_data_back():
    body = forward_body(2, task())
    assert body["prompt_id"] == "p1" and body["client_id"] == "multigpu-front-2"
    assert body["extra_data"] == {"extra_pnginfo": {"workflow": {}}, "api_key_comfy_org": "secret"}


def test_the_worker_runs_the_outputs_the_fronts_validation_chose_and_no_others():
    # A client's partial_execution_targets (the web UI's "run selected output nodes") narrowed them.
    partial = Task(number=0, prompt_id="p1", prompt={"9": {}, "10": {}}, outputs_to_execute=["10"])
    assert forward_body(0, partial)["partial_execution_targets"] == ["10"]
    assert "partial_execution_targets" not in forward_body(0, Task(number=0, prompt_id="p2", prompt={}))


def test_a_prompt_relays_its_messages_to_its_client_and_returns_the_harvested_history():
    link = ScriptedLink([("execution_start", {}), ("progress", {"value": 1, "max": 1}),
                         ("status", {"status": {}}), ("execution_success", {}),
                         ("executing", {"node": None})], success_entry())
    executor, sent = executor_with(link)
    result = executor.execute(0, task(), last_attempt=True)
    assert result.success and result.outputs == {"9": {"images": [{"filename": "a.png"}]}}
    assert [(event, client) for event, _, client in sent] == [("execution_start", "alice"), ("progress", "alice")]
    assert ("delete", "p1") in link.calls
    # The ending and the end reach the client only once the front's history holds the result
    # (the core calls announce_done after storing it), so a client stopping there finds it.
    executor.announce_done(0, task(), result)
    assert [(event, client) for event, _, client in sent][2:] == [("execution_success", "alice"),
                                                                  ("executing", "alice")]


def test_an_out_of_memory_error_is_held_back_unless_it_is_the_last_attempt():
    entry = {"status": {"status_str": "error", "messages": [["execution_error", dict(OOM, prompt_id="p1")]]}}
    link = ScriptedLink([("execution_error", OOM), ("executing", {"node": None})], entry)
    executor, sent = executor_with(link)
    result = executor.execute(0, task(), last_attempt=False)
    assert result.out_of_memory and not result.success and sent == []
    result = executor.execute(0, task(), last_attempt=True)
    executor.announce_done(0, task(), result)
    assert [event for event, _, _ in sent] == ["execution_error", "executing"]


def test_a_harvested_success_stands_when_the_worker_cannot_delete_its_history_entry_any_more():
    link = ScriptedLink([("execution_start", {}), ("executing", {"node": None})], success_entry())
    executor, _ = executor_with(link)
    # The worker went away (or stopped answering) right after the prompt ended.
    link.delete_history = lambda prompt_id: (_ for _ in ()).throw(ConnectionError("Server disconnected"))
    result = executor.execute(0, task(), last_attempt=True)
    assert result.success and result.outputs == {"9": {"images": [{"filename": "a.png"}]}}


def test_a_refused_prompt_is_the_workflows_fault_and_names_the_workers_reason():
    executor, _ = executor_with(ScriptedLink([], None, status=400))
    result = executor.execute(0, task(), last_attempt=True)
    assert result.gpu_fault is False and "HTTP 400" in result.error and "Value not in list" in result.error


def test_a_prompt_the_worker_refused_or_could_not_take_ends_with_its_error_on_the_clients_socket():
    executor, sent = executor_with(ScriptedLink([], None, status=400))
    refused = executor.execute(0, task(), last_attempt=True)
    executor.announce_done(0, task(), refused)
    assert [(event, client) for event, _, client in sent] == [("execution_error", "alice"), ("executing", "alice")]
    assert "HTTP 400" in sent[0][1]["exception_message"] and sent[0][1]["prompt_id"] == "p1"
    # The pool's own failure result (worker.py _failure) when the executor raised, e.g. a POST timeout.
    sent.clear()
    failure = ExecutionResult(success=False, error="WorkerUnavailable: ...", gpu_fault=True, messages=[
        ("execution_error", {"prompt_id": "p1", "exception_message": "...", "exception_type": "WorkerUnavailable"})])
    executor.announce_done(0, task(), failure)
    assert [event for event, _, _ in sent] == ["execution_error", "executing"]


def test_a_worker_that_exits_fails_its_running_prompt_with_the_exit_as_a_gpu_fault():
    link = ScriptedLink([("execution_start", {})], None)
    executor, sent = executor_with(link)
    outcome = {}
    runner = threading.Thread(target=lambda: outcome.update(r=executor.execute(0, task(), last_attempt=True)))
    runner.start()
    while not sent:  # the prompt is running once its first message was relayed
        runner.join(0.01)
    executor.worker_exited(0, "ComfyUI for GPU 0 exited with signal 9 (SIGKILL: out of memory?)")
    runner.join(10)
    result = outcome["r"]
    assert result.gpu_fault is True and "signal 9" in result.error
    executor.announce_done(0, task(), result)  # once the front's history holds it
    assert sent[-2][0] == "execution_error" and sent[-2][2] == "alice" and "signal 9" in sent[-2][1]["exception_message"]


def test_a_success_the_worker_reported_before_dying_is_superseded_by_the_exit():
    link = ScriptedLink([("execution_start", {}), ("execution_success", {})], None)
    executor, sent = executor_with(link)
    outcome = {}
    runner = threading.Thread(target=lambda: outcome.update(r=executor.execute(0, task(), last_attempt=True)))
    runner.start()
    while not sent:
        runner.join(0.01)
    executor.worker_exited(0, "ComfyUI for GPU 0 exited with code 1")
    runner.join(10)
    executor.announce_done(0, task(), outcome["r"])
    assert [event for event, _, _ in sent] == ["execution_start", "execution_error", "executing"]


def test_a_worker_killed_while_taking_the_prompt_fails_it_with_the_exit_not_the_dropped_connection():
    link = ScriptedLink([], None)
    executor, sent = executor_with(link)

    def dying(body):
        executor.worker_exited(0, "ComfyUI for GPU 0 exited with signal 9 (SIGKILL: out of memory?)")
        raise ConnectionError("Server disconnected")

    link.post_prompt = dying
    result = executor.execute(0, task(), last_attempt=True)
    assert result.gpu_fault is True and result.error.startswith("ComfyUI for GPU 0 exited with signal 9")
    executor.announce_done(0, task(), result)
    assert [(event, client) for event, _, client in sent] == [("execution_error", "alice"), ("executing", "alice")]


def executor_whose_post_fails(monkeypatch, error):
    """(executor, link) over a worker that stays up while its POST /prompt raises `error`."""
    monkeypatch.setattr(remote_executor, "EXIT_REPORT_GRACE_S", 0.01)
    link = ScriptedLink([], None)
    executor, _ = executor_with(link)
    link.post_prompt = lambda body: (_ for _ in ()).throw(error)
    return executor, link


def test_a_failed_post_to_a_worker_that_stays_up_raises_after_the_grace(monkeypatch):
    executor, _ = executor_whose_post_fails(monkeypatch, ConnectionError("Server disconnected"))
    with pytest.raises(ConnectionError, match="Server disconnected"):
        executor.execute(0, task(), last_attempt=True)


def test_a_failed_post_to_a_worker_that_stays_up_withdraws_the_prompt_there_in_case_it_was_taken(monkeypatch):
    # A POST /prompt that timed out may still have been queued by the worker (stock goes on after
    # the caller hangs up): it would run there unwatched, ahead of the next prompt.
    executor, link = executor_whose_post_fails(monkeypatch, ConnectionError("timed out"))
    with pytest.raises(ConnectionError, match="timed out"):
        executor.execute(0, task(), last_attempt=True)
    assert link.calls == [("delete_queued", "p1"), ("interrupt", "p1")]


def test_a_withdrawal_that_fails_is_logged_and_the_posts_own_failure_is_raised(monkeypatch, caplog):
    executor, link = executor_whose_post_fails(monkeypatch, ConnectionError("timed out"))
    link.delete_queued = lambda prompt_id: (_ for _ in ()).throw(OSError("queue call failed"))
    link.interrupt = lambda prompt_id: (_ for _ in ()).throw(OSError("interrupt call failed"))
    with pytest.raises(ConnectionError, match="timed out"):
        executor.execute(0, task(), last_attempt=True)
    logged = caplog.text
    assert "queue call failed" in logged and "interrupt call failed" in logged


def test_an_interrupt_names_the_running_prompt_and_is_repeated_when_the_prompt_starts():
    link = ScriptedLink([], success_entry())
    executor, _ = executor_with(link)
    link.post_prompt = lambda body: (executor.interrupt(0, "p1"), executor.on_message(
        0, "execution_start", {"prompt_id": "p1"}), executor.on_message(
        0, "executing", {"node": None, "prompt_id": "p1"}), (200, {}))[-1]
    executor.execute(0, task(), last_attempt=True)
    assert [c for c in link.calls if c[0] == "interrupt"] == [("interrupt", "p1")] * 3


def test_an_interrupt_that_comes_before_its_prompt_reaches_execute_stops_it_once_posted():
    # The queue hands a prompt out before execute registers it, and an OOM retry has no run
    # between its attempts: a cancel in either gap was dropped and the prompt ran to the end.
    link = ScriptedLink([("execution_start", {}), ("executing", {"node": None})], success_entry())
    executor, _ = executor_with(link)
    executor.interrupt(0, "p1")
    executor.execute(0, task("p1"), last_attempt=True)
    assert link.calls.index(("interrupt", "p1")) > [c[0] for c in link.calls].index("prompt")


def test_an_early_interrupt_for_another_prompt_does_not_stop_the_one_that_starts():
    link = ScriptedLink([("execution_start", {}), ("executing", {"node": None})], success_entry())
    executor, _ = executor_with(link)
    executor.interrupt(0, "p0")  # p0 ended meanwhile without another attempt
    executor.execute(0, task("p1"), last_attempt=True)
    executor.execute(0, task("p0"), last_attempt=True)  # taken up once: not by a later run of p0
    assert [c for c in link.calls if c[0] == "interrupt"] == []


def test_a_history_entry_becomes_the_stock_result_shape():
    interrupted = {"status": {"status_str": "error", "messages": [["execution_interrupted", {}]]}}
    assert result_from_history(0, "p", interrupted).interrupted
    missing = result_from_history(3, "p", None)
    assert missing.gpu_fault and "GPU 3" in missing.error


def test_taking_a_gpu_out_of_service_opens_its_breaker_at_once_and_names_the_reason():
    pool = GpuPool(RemoteExecutor([], lambda *a: None), 2, settings=PoolSettings(breaker_threshold=3))
    pool.take_out_of_service(1, "ComfyUI for GPU 1 exited with code 3")
    gpu1 = pool.queue_all()["queues"][1]
    assert gpu1["state"] == "broken" and gpu1["last_gpu_fault"] == "ComfyUI for GPU 1 exited with code 3"
    assert pool.submit(task("p2")) == 0


def test_a_prompt_whose_final_message_was_lost_ends_when_the_workers_history_shows_it():
    link = ScriptedLink([("execution_start", {})], success_entry())  # no executing-None: lost
    sent = []
    executor = RemoteExecutor([link], lambda *m: sent.append(m), resync_s=0.01)
    link.executor = executor
    result = executor.execute(0, task(), last_attempt=True)
    assert result.success and ("delete", "p1") in link.calls


def test_a_worker_silent_past_the_stall_threshold_is_interrupted_then_killed_and_the_prompt_fails():
    link = ScriptedLink([("execution_start", {})], None)
    kills = []

    def kill(gpu, reason):  # the supervisor kills; the process' exit then reaches the executor
        kills.append(reason)
        executor.worker_exited(gpu, reason + " (exited with signal 9 (SIGKILL: out of memory?))")

    executor = RemoteExecutor([link], lambda *m: None, stall_s=0.02, stall_grace_s=0.02, kill=kill)
    link.executor = executor
    result = executor.execute(0, task(), last_attempt=True)
    assert ("interrupt", "p1") in link.calls and len(kills) == 1
    assert result.gpu_fault and "COMFY_WORKER_STALL_S=0.02" in result.error and "killed" in result.error


def test_a_worker_that_outlives_its_kill_is_reported_gone_and_its_prompt_fails_naming_the_gpu():
    # Stuck in the GPU driver (D state): SIGKILL does not end it, so no exit would ever come.
    link = ScriptedLink([("execution_start", {})], None)
    kills, reports = [], []
    now = [0.0]

    def clock():  # one second a reading: each check of the wait sees time pass, whatever the load
        now[0] += 1.0
        return now[0]

    def report_exit(gpu, description):  # the front takes the GPU out of service, then this
        reports.append((gpu, description))
        executor.worker_exited(gpu, description)

    executor = RemoteExecutor([link], lambda *m: None, resync_s=0.001, stall_s=10, stall_grace_s=10,
                              kill=lambda gpu, reason: kills.append(reason), report_exit=report_exit,
                              clock=clock)
    link.executor = executor
    outcome = {}
    # A daemon: a run that hangs fails the test instead of holding pytest's exit.
    runner = threading.Thread(target=lambda: outcome.update(r=executor.execute(0, task(), last_attempt=True)),
                              daemon=True)
    runner.start()
    runner.join(30)
    assert not runner.is_alive(), "the prompt of a worker that SIGKILL did not end hung"
    assert len(kills) == 1 and len(reports) == 1 and reports[0][0] == 0
    description = reports[0][1]
    assert description.startswith("ComfyUI for GPU 0 did not die 10 s after SIGKILL")
    assert "GPU 0 taken out of service" in description
    result = outcome["r"]
    assert result.gpu_fault and result.error == description


def test_the_workers_save_locks_are_released_by_its_messages_its_prompts_end_and_its_exit():
    link = ScriptedLink([("executing", {"node": "9"}), ("executing", {"node": None})], success_entry())
    executor, _ = executor_with(link)
    locks, key = executor.save_locks, save_lock_key("/out", "race")
    take = lambda: locks.try_take(0, key, None, locks.life(0))  # noqa: E731

    assert take()
    executor.on_message(0, "status", {"status": {}})
    assert locks.keys_held() == 1
    executor.on_message(0, "executed", {"node": "9", "prompt_id": "p0"})
    assert locks.keys_held() == 0
    assert take()
    executor.worker_exited(0, "gone")
    assert locks.keys_held() == 0
    # Taken after the worker's last message (as a save in a node the END message overtook would):
    # only the prompt's end releases it.
    scripted_post = link.post_prompt
    link.post_prompt = lambda body: (scripted_post(body), take())[0]
    executor.execute(0, task(), last_attempt=True)
    assert locks.keys_held() == 0
