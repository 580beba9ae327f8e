"""model_gate.py: lifts exactly the models taint, only after the ready marker, safely under races."""
from __future__ import annotations

import copy
import fcntl
import json
import threading
import time

import pytest
from conftest import FakeHttp, load

gate = load("model_gate")
KEY = "comfyui/models-not-ready"
GPU = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
MODELS = {"key": KEY, "value": "true", "effect": "NoSchedule"}


def node(*taints, age_seconds: float = 60):
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - age_seconds))
    return {"metadata": {"name": "ip-10-0-32-7", "uid": "uid-1", "creationTimestamp": created},
            "spec": {"taints": [dict(t) for t in taints]}}


def apply_json_patch(doc: dict, patch: list) -> tuple[int, dict]:
    doc = copy.deepcopy(doc)
    for op in patch:
        parts = op["path"].strip("/").split("/")
        parent = doc
        for part in parts[:-1]:
            parent = parent[part]
        index = int(parts[-1])
        if op["op"] == "test" and (index >= len(parent) or parent[index] != op["value"]):
            return 422, {"message": "test failed"}
        if op["op"] == "remove":
            del parent[index]
    return 200, doc


class FakeApiServer:
    """GET/PATCH /api/v1/nodes/<name> with JSON-patch `test` semantics; `before_patch` can race a change."""

    def __init__(self, state: dict, before_patch=None):
        self.state, self.before_patch = state, before_patch
        self.events, self.deleted = [], []
        self.http = FakeHttp(self.handle)

    def handle(self, method, path, body, headers):
        if method == "GET":
            return 200, self.state
        if method == "POST":
            self.events.append(body)
            return 201, body
        if method == "DELETE":
            assert body["preconditions"] == {"uid": self.state["metadata"]["uid"]}
            self.deleted.append(path)
            return 200, self.state
        if self.before_patch:
            self.before_patch(self.state)
            self.before_patch = None
        status, updated = apply_json_patch(self.state, body)
        if status == 200:
            self.state.clear()
            self.state.update(updated)
        return status, updated


def test_the_patch_removes_only_the_models_taint_and_tests_it_first():
    patch = gate.taint_removal_patch(node(GPU, MODELS), KEY)
    assert patch == [{"op": "test", "path": "/spec/taints/1", "value": MODELS},
                     {"op": "remove", "path": "/spec/taints/1"}]


def test_no_patch_when_the_taint_is_already_gone():
    assert gate.taint_removal_patch(node(GPU), KEY) is None
    assert gate.taint_removal_patch({"spec": {}}, KEY) is None


def test_duplicate_taints_are_removed_highest_index_first():
    patch = gate.taint_removal_patch(node(MODELS, GPU, dict(MODELS, effect="NoExecute")), KEY)
    assert [op["path"] for op in patch if op["op"] == "remove"] == ["/spec/taints/2", "/spec/taints/0"]
    assert apply_json_patch(node(MODELS, GPU, dict(MODELS, effect="NoExecute")), patch)[1]["spec"]["taints"] == [GPU]


def test_lifts_the_taint_once_the_ready_marker_appears_and_not_before(tmp_path):
    api = FakeApiServer(node(MODELS, GPU))
    threading.Timer(0.6, lambda: (tmp_path / "ready").write_text("now\n")).start()
    started = time.monotonic()
    code = gate.main(["--node-name", "ip-10-0-32-7", "--taint-key", KEY, "--state-dir", str(tmp_path),
                      "--poll-seconds", "0.1", "--api-url", api.http.url, "--once"])
    assert code == 0 and time.monotonic() - started >= 0.5
    assert api.state["spec"]["taints"] == [GPU]
    api.http.close()


def test_a_taint_list_changed_during_the_patch_is_re_read_and_the_right_entry_removed(tmp_path):
    def karpenter_adds_a_taint_first(state):
        state["spec"]["taints"].insert(0, {"key": "karpenter.sh/disrupted", "effect": "NoSchedule"})
    api = FakeApiServer(node(GPU, MODELS), before_patch=karpenter_adds_a_taint_first)
    api_client = gate.KubernetesApi(api.http.url, None, None)
    assert gate.lift_taint(api_client, "ip-10-0-32-7", KEY)
    assert [t["key"] for t in api.state["spec"]["taints"]] == ["karpenter.sh/disrupted", "nvidia.com/gpu"]
    assert [c[0] for c in api.http.calls] == ["GET", "PATCH", "GET", "PATCH"]
    api.http.close()


def test_the_node_name_is_required():
    with pytest.raises(SystemExit):
        gate.parse_args(["--taint-key", KEY, "--state-dir", "/x", "--node-name", ""])


def write_status(state_dir, **fields):
    (state_dir / "status.json").write_text(json.dumps(fields))


def test_a_running_sync_is_reported_running_while_it_holds_the_lock_and_killed_once_it_does_not(tmp_path):
    write_status(tmp_path, state="running", pid=4242, mode="full", progress={"files": 2, "total_files": 4})
    with open(tmp_path / "lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as the sync does while it runs
        assert gate.sync_summary(str(tmp_path))["state"] == "running"
    summary = gate.sync_summary(str(tmp_path))  # the lock went with the process
    assert summary["state"] == "killed" and summary["progress"] == {"files": 2, "total_files": 4}
    write_status(tmp_path, state="ok")
    assert gate.sync_summary(str(tmp_path))["state"] == "ok"
    assert gate.sync_summary(str(tmp_path / "nothing-yet")) == {}


def run_gate(api, state_dir, *extra):
    return gate.main(["--node-name", "ip-10-0-32-7", "--taint-key", KEY, "--state-dir", str(state_dir),
                      "--poll-seconds", "0.01", "--api-url", api.http.url, "--once", *extra])


def test_a_first_sync_that_gave_up_is_reported_and_the_node_deleted_for_karpenter_to_replace(tmp_path):
    write_status(tmp_path, state="failed", gave_up=True, errors=["the models do not fit: 12 GiB short"])
    api = FakeApiServer(node(MODELS, GPU, age_seconds=1000))
    assert run_gate(api, tmp_path) == 0
    [event] = api.events
    assert ("POST", "/api/v1/namespaces/default/events") in [call[:2] for call in api.http.calls]
    assert event["involvedObject"] == {"apiVersion": "v1", "kind": "Node", "name": "ip-10-0-32-7", "uid": "uid-1"}
    assert (event["type"], event["reason"]) == ("Warning", "ModelSyncFailed")
    assert event["message"] == ("the first model sync gave up: the models do not fit: 12 GiB short; "
                                "deleting the node so that Karpenter replaces it")
    assert api.deleted == ["/api/v1/nodes/ip-10-0-32-7"]  # with the node's uid as a precondition
    api.http.close()


def test_a_node_whose_sync_never_reported_is_replaced_after_the_backstop(tmp_path):
    api = FakeApiServer(node(MODELS, GPU, age_seconds=9001))
    assert run_gate(api, tmp_path, "--replace-after-seconds", "9000") == 0
    assert "no complete model sync 9001 s after the node was created (sync state: none" in api.events[0]["message"]
    assert api.deleted
    api.http.close()


def test_a_failed_node_is_reported_at_once_but_deleted_only_once_old_enough(tmp_path):
    write_status(tmp_path, state="failed", gave_up=True, errors=["x"])
    api = FakeApiServer(node(MODELS, GPU, age_seconds=60))
    replacement = gate.Replacement(gate.KubernetesApi(api.http.url, None, None), api.state,
                                   gate.parse_args(["--node-name", "ip-10-0-32-7", "--taint-key", KEY, "--state-dir",
                                                    str(tmp_path)]))
    for _ in range(3):
        replacement.check(gate.sync_summary(str(tmp_path)))
    assert len(api.events) == 1 and api.deleted == []  # 60 s old, replaced from 900 s on
    api.http.close()


def test_a_node_that_already_served_is_never_deleted_nor_is_one_kept_for_inspection(tmp_path):
    write_status(tmp_path, state="failed", gave_up=True, errors=["x"])
    for taints, extra in (((GPU,), []), ((MODELS, GPU), ["--keep-failed-nodes"])):
        api = FakeApiServer(node(*taints, age_seconds=100000))
        args = gate.parse_args(["--node-name", "ip-10-0-32-7", "--taint-key", KEY, "--state-dir", str(tmp_path),
                                *extra])
        replacement = gate.Replacement(gate.KubernetesApi(api.http.url, None, None), api.state, args)
        replacement.check(gate.sync_summary(str(tmp_path)))
        assert api.deleted == []
        assert len(api.events) == (1 if extra else 0)
        api.http.close()


def test_a_sync_still_within_its_time_is_left_alone():
    assert gate.first_sync_failure({"state": "running"}, 100, 9000) is None
    assert gate.first_sync_failure({"state": "failed", "errors": ["network"]}, 100, 9000) is None  # it retries
