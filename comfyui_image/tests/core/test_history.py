import pytest

from multigpu.core.executor import ExecutionResult
from multigpu.core.history import HistoryStore

from fake_executor import make_task


def filled(n, max_size=100):
    store = HistoryStore(max_size)
    for i in range(n):
        store.record(make_task(f"p{i}", number=i), ExecutionResult(success=True), gpu_id=i % 4)
    return store


def test_an_entry_has_comfyui_shape_and_the_gpu_that_ran_it():
    entry = filled(1).get("p0")["p0"]
    assert entry["status"] == {"status_str": "success", "completed": True, "messages": []}
    assert entry["prompt"][1] == "p0" and len(entry["prompt"]) == 5
    assert entry["gpu_id"] == 0 and entry["outputs"] == {} and entry["meta"] == {}


def test_paging_matches_comfyui_newest_max_items_or_offset_from_oldest():
    store = filled(5)
    assert list(store.get(max_items=2)) == ["p3", "p4"]
    assert list(store.get(max_items=2, offset=1)) == ["p1", "p2"]
    assert list(store.get()) == ["p0", "p1", "p2", "p3", "p4"]
    assert store.get("nope") == {}


def test_returned_entries_are_copies():
    store = filled(1)
    store.get("p0")["p0"]["outputs"]["x"] = 1
    assert store.get("p0")["p0"]["outputs"] == {}


def test_a_recorded_entry_does_not_follow_later_changes_to_the_result():
    store = HistoryStore(10)
    result = ExecutionResult(success=True, outputs={"9": {"images": []}}, meta={"9": {}})
    store.record(make_task("p0"), result, gpu_id=0)
    result.outputs["9"]["images"].append({"filename": "late.png"})
    result.meta["9"]["x"] = 1
    entry = store.get(max_items=1)["p0"]
    assert entry["outputs"] == {"9": {"images": []}} and entry["meta"] == {"9": {}}


def test_a_listing_shares_the_stored_entries_instead_of_copying_them(monkeypatch):
    # GET /history and GET /api/jobs list all 10,000 entries on the front's event loop: no deep copy.
    store = filled(3)
    monkeypatch.setattr("multigpu.core.history.copy.deepcopy", lambda *_: pytest.fail("a listing deep-copied"))
    first, again = store.get(), store.get(max_items=3, offset=0)
    assert list(first) == ["p0", "p1", "p2"] and all(first[k] is again[k] for k in first)


def test_the_oldest_entries_go_beyond_the_bound():
    assert list(filled(5, max_size=3).get()) == ["p2", "p3", "p4"]


def test_delete_and_clear():
    store = filled(3)
    store.delete("p1")
    assert list(store.get()) == ["p0", "p2"]
    store.clear()
    assert len(store) == 0


def test_a_bad_bound_is_rejected():
    with pytest.raises(ValueError, match="max_size"):
        HistoryStore(0)
