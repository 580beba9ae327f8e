"""The runner's pure decisions: no network, no mocks."""
import pytest

from job_runner.contract import load_contract
from job_runner.outcome import outcome_from_history, outcome_from_message, prompt_rejected
from job_runner.outputs import output_files, output_record
from job_runner.pickup import Pickup, decide_pickup, leave_for_seconds
from job_runner.pods import ready_pods
from job_runner.progress import ProgressTracker, write_due
from job_runner.slots import idle_gpus, prompt_whereabouts
from job_runner.workflow_prefix import rewrite_filename_prefixes

C = load_contract()


def queue(gpu, running=(), pending=(), state="in_service"):
    return {"gpu_id": gpu, "queue_running": [[0, p, {}, {}, []] for p in running],
            "queue_pending": [[1, p, {}, {}, []] for p in pending], "running_count": len(running),
            "pending_count": len(pending), "state": state}


def test_only_gpus_in_service_with_nothing_running_or_pending_and_not_held_are_idle():
    answer = {"queues": [queue(0), queue(1, running=["a"]), queue(2, pending=["b"]), queue(3),
                         queue(4, state="broken")]}
    assert idle_gpus(answer) == [0, 3]
    assert idle_gpus(answer, held={3}) == [0]
    assert idle_gpus({}) == []


def test_a_prompt_is_found_running_queued_finished_or_absent():
    answer = {"queues": [queue(0, running=["r"], pending=["q"])]}
    assert prompt_whereabouts(answer, {}, "r") == "running"
    assert prompt_whereabouts(answer, {}, "q") == "queued"
    assert prompt_whereabouts(answer, {"h": {}}, "h") == "finished"
    assert prompt_whereabouts(answer, {}, "x") == "absent"


@pytest.mark.parametrize("item, now, expected", [
    (None, 0, Pickup.DROP),
    ({"status": "completed"}, 0, Pickup.DROP),
    ({"status": "cancelled"}, 0, Pickup.DROP),
    ({"status": "mystery"}, 0, Pickup.DROP),
    ({"status": "pending"}, 0, Pickup.RUN),
    ({"status": "pending", "cancel_requested": True}, 0, Pickup.CANCEL),
    ({"status": "in_progress", "lease_until": 2000}, 1000, Pickup.LEAVE),
    ({"status": "in_progress", "lease_until": 1000}, 2000, Pickup.TAKE_OVER),
    ({"status": "in_progress"}, 0, Pickup.TAKE_OVER),
])
def test_the_pickup_decision_follows_the_state_machine(item, now, expected):
    assert decide_pickup(C, item, now) is expected


def test_a_left_message_stays_hidden_until_the_holders_lease_would_lapse():
    assert leave_for_seconds({"lease_until": 31_000}, 1_000, 5) == 30
    assert leave_for_seconds({"lease_until": 0}, 1_000, 5) == 5


def test_filename_prefixes_move_into_the_jobs_folder_and_cannot_climb_out():
    prompt = {"9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "portraits/cat"}},
              "8": {"class_type": "SaveImage", "inputs": {"filename_prefix": "../../etc/x"}},
              "7": {"class_type": "Custom", "inputs": {"filename_prefix": ["3", 0]}},
              "6": {"class_type": "SaveImage", "inputs": {"filename_prefix": ""}}}
    out = rewrite_filename_prefixes(prompt, "j1", "jobs")
    assert out["9"]["inputs"]["filename_prefix"] == "jobs/j1/portraits/cat"
    assert out["8"]["inputs"]["filename_prefix"] == "jobs/j1/etc/x"
    assert out["7"]["inputs"]["filename_prefix"] == ["3", 0]
    assert out["6"]["inputs"]["filename_prefix"] == "jobs/j1/ComfyUI"
    assert prompt["9"]["inputs"]["filename_prefix"] == "portraits/cat"  # the input is not changed


def test_saved_files_map_to_keys_under_the_owner_and_job_and_temp_previews_are_skipped():
    entry = {"outputs": {"9": {"images": [{"filename": "cat_00001_.png", "subfolder": "jobs/j1/portraits",
                                            "type": "output"},
                                           {"filename": "p.png", "subfolder": "", "type": "temp"}],
                               "text": ["not a file"]},
                         "10": {"gifs": [{"filename": "a.mp4", "subfolder": "jobs/j1", "type": "output"}]}}}
    files = output_files(entry)
    assert [(f.node, f.filename) for f in files] == [("10", "a.mp4"), ("9", "cat_00001_.png")]
    keys = [f.key("jobs/", "alice", "j1", "jobs/j1") for f in files]
    assert keys == ["jobs/alice/j1/a.mp4", "jobs/alice/j1/portraits/cat_00001_.png"]
    assert files[0].content_type == "video/mp4" and files[1].content_type == "image/png"
    assert output_record(files[1], keys[1], 12) == {
        "node": "9", "filename": "cat_00001_.png", "media_type": "images", "size": 12,
        "content_type": "image/png", "key": keys[1]}


def test_execution_errors_keep_comfyuis_fields_and_the_last_20_traceback_lines():
    data = {"node_id": "3", "node_type": "KSampler", "exception_type": "RuntimeError",
            "exception_message": "boom", "traceback": [f"line {i}\n" for i in range(30)], "prompt_id": "p"}
    ended = outcome_from_message("execution_error", data)
    assert ended.kind == "error" and ended.error["node_type"] == "KSampler"
    assert ended.error["traceback"] == [f"line {i}" for i in range(10, 30)]
    assert outcome_from_message("execution_interrupted", {}).kind == "interrupted"
    assert outcome_from_message("progress", {}) is None


def test_a_refused_prompt_names_comfyuis_message_and_node_errors():
    body = {"error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation",
                      "details": ""}, "node_errors": {"4": {"errors": []}}}
    assert prompt_rejected(400, body) == {"type": "prompt_rejected",
                                          "exception_message": "Prompt outputs failed validation",
                                          "node_errors": {"4": {"errors": []}}}
    assert prompt_rejected(400, None)["exception_message"] == "HTTP 400"


def test_the_history_tells_success_error_and_interruption_apart():
    assert outcome_from_history({"status": {"status_str": "success", "messages": []}}).kind == "success"
    failed = {"status": {"status_str": "error", "messages": [["execution_error", {"node_id": "1"}]]}}
    assert outcome_from_history(failed).error["node_id"] == "1"
    stopped = {"status": {"status_str": "error", "messages": [["execution_interrupted", {}]]}}
    assert outcome_from_history(stopped).kind == "interrupted"


def test_progress_counts_nodes_and_steps_and_reports_only_changes():
    tracker = ProgressTracker({"4": {"class_type": "Loader"}, "3": {"class_type": "KSampler"},
                               "9": {"class_type": "SaveImage"}})
    tracker.apply("execution_cached", {"nodes": ["4"]})
    tracker.apply("executing", {"node": "3"})
    tracker.apply("progress", {"value": 5, "max": 20, "node": "3"})
    assert tracker.take_if_changed() == {"node": "3", "node_type": "KSampler", "step": 5, "steps": 20,
                                         "nodes_done": 1, "nodes_total": 3}
    assert tracker.take_if_changed() is None
    tracker.apply("executing", {"node": "9"})
    assert tracker.snapshot()["nodes_done"] == 2
    assert write_due(10.0, None, 1.0) and write_due(11.0, 10.0, 1.0) and not write_due(10.5, 10.0, 1.0)


def test_only_ready_pods_that_are_not_terminating_take_jobs():
    def pod(name, ready="True", ip="10.0.0.1", deleting=False):
        meta = {"name": name, **({"deletionTimestamp": "2026-01-01T00:00:00Z"} if deleting else {})}
        return {"metadata": meta, "status": {"podIP": ip, "conditions": [{"type": "Ready", "status": ready}]}}
    listed = {"items": [pod("b"), pod("a", ip="fd00::1"), pod("c", ready="False"), pod("d", deleting=True),
                        pod("e", ip=None)]}
    assert [(p.name, p.base_url) for p in ready_pods(listed, 8188)] == [
        ("a", "http://[fd00::1]:8188"), ("b", "http://10.0.0.1:8188")]
