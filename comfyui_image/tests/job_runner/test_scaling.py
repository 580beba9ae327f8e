"""The scaling signal (job_runner/scaling.py) and the scale-in order (deletion_cost.py) as pure logic on a fake
clock: the demand formula, the pods' numbers and their ages, and when a pod's deletion cost changes."""
import pytest

from job_runner.deletion_cost import ANNOTATION, DeletionCosts, parse_cost
from job_runner.pods import ready_pods
from job_runner.scaling import PodLoad, ScalingView, demand, gauge_values, pod_load


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def queues(*gpus):
    """/queue/all with (running, pending) per GPU."""
    return {"queues": [{"gpu_id": i, "running_count": r, "pending_count": p} for i, (r, p) in enumerate(gpus)]}


@pytest.mark.parametrize("prompts, backlog, sessions, expected", [
    (0, 0, 0, 0),   # nothing: the pods may go
    (0, 0, 3, 1),   # only recent browser sessions: keep one pod's worth, not one per tab
    (2, 0, 3, 2),   # prompts already count the artists' work; sessions add nothing
    (0, 5, 0, 5),   # queued jobs
    (3, 4, 1, 7),
])
def test_demand_is_prompts_plus_backlog_and_one_for_recent_sessions_only_when_nothing_else(prompts, backlog, sessions, expected):
    assert demand(prompts, backlog, sessions) == expected


def test_a_pods_load_counts_running_and_pending_prompts_and_its_busy_gpus():
    assert pod_load(queues((1, 2), (0, 0), (0, 1), (1, 0))) == PodLoad(prompts=5, pending=3, busy_gpus=3)
    assert pod_load({"queues": []}) == PodLoad()


def test_unlabelled_gauges_are_read_from_prometheus_text_and_labelled_or_other_series_are_not():
    text = ("# HELP comfyui_ws_sessions_recent Browser sessions\n# TYPE comfyui_ws_sessions_recent gauge\n"
            "comfyui_ws_sessions_recent 3.0\ncomfyui_ws_session_window_seconds 300.0\n"
            'comfyui_gpu_queue_depth{gpu="0"} 4.0\ncomfyui_ws_sessions_recent_other 9\n')
    assert gauge_values(text, ["comfyui_ws_sessions_recent", "comfyui_ws_session_window_seconds",
                               "comfyui_gpu_queue_depth"]) == {
        "comfyui_ws_sessions_recent": 3.0, "comfyui_ws_session_window_seconds": 300.0}


def fresh_view(clock):
    view = ScalingView(clock=clock, stale_seconds=30)
    view.pods_seen({"pod-a", "pod-b"}, {"pod-a": pod_load(queues((1, 1), (0, 0))), "pod-b": PodLoad()})
    view.sessions_seen("pod-a", 0)
    view.sessions_seen("pod-b", 2)
    view.backlog_seen(4)
    return view


def test_scaling_answers_the_sums_over_the_ready_pods_and_the_backlog():
    clock = Clock()
    assert fresh_view(clock).answer() == (200, {"demand": 6, "prompts": 2, "backlog": 4, "recent_sessions": 2,
                                                "pods": 2, "busy_gpus": 1})


def test_with_no_work_recent_sessions_keep_a_demand_of_one_and_without_them_demand_is_zero():
    clock = Clock()
    view = ScalingView(clock=clock, stale_seconds=30)
    view.pods_seen({"pod-a"}, {"pod-a": PodLoad()})
    view.backlog_seen(0)
    view.sessions_seen("pod-a", 1)
    assert view.answer()[1]["demand"] == 1
    view.sessions_seen("pod-a", 0)
    assert view.answer() == (200, {"demand": 0, "prompts": 0, "backlog": 0, "recent_sessions": 0, "pods": 1,
                                   "busy_gpus": 0})


def test_no_pods_at_all_is_a_valid_answer_of_zero_pods():
    clock = Clock()
    view = ScalingView(clock=clock, stale_seconds=30)
    view.pods_seen(set(), {})
    view.backlog_seen(2)
    assert view.answer() == (200, {"demand": 2, "prompts": 0, "backlog": 2, "recent_sessions": 0, "pods": 0,
                                   "busy_gpus": 0})


def test_scaling_is_an_error_before_the_first_look_and_once_any_number_is_stale():
    clock = Clock()
    view = ScalingView(clock=clock, stale_seconds=30)
    status, body = view.answer()
    assert status == 503 and "not been listed" in body["error"]
    view = fresh_view(clock)
    clock.now += 30
    assert view.answer()[0] == 200  # exactly the limit still counts
    clock.now += 1
    status, body = view.answer()
    assert status == 503 and "last listed 31 s ago" in body["error"] and body["demand"] == 6


def test_a_pod_that_stops_answering_or_a_backlog_that_cannot_be_read_turns_scaling_into_an_error():
    clock = Clock()
    view = fresh_view(clock)
    clock.now += 31
    view.pods_seen({"pod-a", "pod-b"}, {"pod-a": PodLoad()})  # pod-b's /queue/all unanswered since
    view.sessions_seen("pod-a", 0)
    view.sessions_seen("pod-b", 0)
    view.backlog_seen(0)
    status, body = view.answer()
    assert status == 503 and "pod pod-b has not answered /queue/all for 31 s" in body["error"]
    view.pods_seen({"pod-a"}, {"pod-a": PodLoad()})  # pod-b gone from the list: forgotten
    assert view.answer()[0] == 200
    clock.now += 31
    view.pods_seen({"pod-a"}, {"pod-a": PodLoad()})
    view.sessions_seen("pod-a", 0)
    status, body = view.answer()
    assert status == 503 and "backlog" in body["error"]


def test_a_new_pod_gets_the_stale_limit_to_answer_its_metrics():
    clock = Clock()
    view = fresh_view(clock)
    view.pods_seen({"pod-a", "pod-b", "pod-c"}, {"pod-a": PodLoad(), "pod-b": PodLoad(), "pod-c": PodLoad()})
    assert view.answer()[0] == 200
    clock.now += 31
    view.pods_seen({"pod-a", "pod-b", "pod-c"}, {"pod-a": PodLoad(), "pod-b": PodLoad(), "pod-c": PodLoad()})
    for pod in ("pod-a", "pod-b"):
        view.sessions_seen(pod, 0)
    view.backlog_seen(0)
    status, body = view.answer()
    assert status == 503 and "pod pod-c has not answered /metrics" in body["error"]


def test_a_pod_turning_busy_gets_its_cost_at_once_and_idle_only_after_the_idle_period():
    clock = Clock()
    costs = DeletionCosts(clock=clock, idle_after_seconds=60)
    busy = pod_load(queues((1, 2), (1, 0)))
    assert costs.decide("pod-a", None, busy) == 2 * 1000 + 2
    assert costs.decide("pod-a", 2002, busy) is None  # already marked busy
    assert costs.decide("pod-a", 2002, pod_load(queues((1, 0), (0, 0)))) is None  # busier or not: no update
    assert costs.decide("pod-a", 2002, PodLoad()) is None  # idle for 0 s
    clock.now += 59
    assert costs.decide("pod-a", 2002, PodLoad()) is None
    assert costs.decide("pod-a", 2002, busy) is None  # busy again: the idle period starts over
    assert costs.decide("pod-a", 2002, PodLoad()) is None
    clock.now += 60
    assert costs.decide("pod-a", 2002, PodLoad()) == 0
    assert costs.decide("pod-a", 0, PodLoad()) is None  # idle and marked idle (or never marked): nothing
    assert costs.decide("pod-b", None, PodLoad()) is None


def test_a_refused_patch_is_asked_again_only_after_a_minute():
    clock = Clock()
    costs = DeletionCosts(clock=clock, idle_after_seconds=60)
    busy = pod_load(queues((1, 0)))
    assert costs.decide("pod-a", None, busy) == 1000
    costs.refused("pod-a")
    clock.now += 59
    assert costs.decide("pod-a", None, busy) is None
    clock.now += 1
    assert costs.decide("pod-a", None, busy) == 1000


def test_the_listed_deletion_cost_is_read_from_the_pods_annotations():
    assert parse_cost({ANNOTATION: "2003"}) == 2003 and parse_cost({ANNOTATION: "x"}) is None and parse_cost(None) is None
    ready = {"type": "Ready", "status": "True"}
    listed = ready_pods({"items": [
        {"metadata": {"name": "a", "annotations": {ANNOTATION: "1000"}}, "status": {"podIP": "10.0.0.1", "conditions": [ready]}},
        {"metadata": {"name": "b"}, "status": {"podIP": "10.0.0.2", "conditions": [ready]}},
    ]}, 8188)
    assert [(p.name, p.deletion_cost) for p in listed] == [("a", 1000), ("b", None)]
