"""core/jobs_view.py: vectors written by reading ComfyUI v0.33's comfy_execution/jobs.py and the
checks of its server.py get_jobs / cancel_jobs_batch (what stock answers, worked out by hand)."""
import pytest

from multigpu.core.jobs_view import (JobSources, JobsQuery, JobsQueryError, find_job, invalid_job_ids,
                                     list_jobs, outputs_summary, parse_jobs_query, previewable_count)

UUID = "0b9f7ad5-2bd4-4a3c-9d57-6a2a0c3d5f10"


def queued(number, prompt_id, create_time=None, workflow=None):
    extra = {"client_id": "c"}
    if create_time is not None:
        extra["create_time"] = create_time
    if workflow is not None:
        extra["extra_pnginfo"] = {"workflow": {"id": workflow}}
    return [number, prompt_id, {"1": {}}, extra, ["9"]]


def finished(number, prompt_id, create_time, status_str="success", events=(), outputs=None, workflow=None):
    return {"prompt": queued(number, prompt_id, create_time, workflow),
            "outputs": outputs or {},
            "status": {"status_str": status_str, "completed": status_str == "success",
                       "messages": [[event, {"prompt_id": prompt_id, "timestamp": t}] for event, t in events]},
            "meta": {}, "gpu_id": 1}


def sources():
    return JobSources(
        running=[queued(5, "run", create_time=500)],
        pending=[queued(6, "p1", create_time=600, workflow="wf-a"), queued(7, "p2", create_time=700)],
        history={
            "ok": finished(1, "ok", 100, events=[("execution_start", 1000), ("execution_success", 1900)],
                           workflow="wf-a"),
            "bad": finished(2, "bad", 200, "error", [("execution_start", 2000), ("execution_error", 2100)]),
            "stop": finished(3, "stop", 300, "error",
                             [("execution_start", 3000), ("execution_interrupted", 3500)]),
        },
        gpu_of={"run": 0, "p1": 1, "p2": 0})


def ids(body):
    return [job["id"] for job in body["jobs"]]


def test_jobs_are_newest_first_by_default_with_each_state_named_as_stock_names_it():
    body = list_jobs(sources(), JobsQuery())
    assert ids(body) == ["p2", "p1", "run", "stop", "bad", "ok"]
    status = {job["id"]: job["status"] for job in body["jobs"]}
    assert status == {"p2": "pending", "p1": "pending", "run": "in_progress", "stop": "cancelled",
                      "bad": "failed", "ok": "completed"}
    assert body["pagination"] == {"offset": 0, "limit": None, "total": 6, "has_more": False}


def test_a_queued_job_has_no_outputs_and_no_missing_keys():
    job = find_job("p1", sources())
    assert job == {"id": "p1", "status": "pending", "priority": 6, "create_time": 600, "outputs_count": 0,
                   "previewable_outputs_count": 0, "workflow_id": "wf-a", "gpu_id": 1}
    assert "workflow_id" not in find_job("p2", sources())  # None values are left out, as prune_dict does


def test_a_finished_job_carries_its_times_error_workflow_and_outputs_when_asked_for_by_id():
    failed = next(j for j in list_jobs(sources(), JobsQuery())["jobs"] if j["id"] == "bad")
    assert failed["execution_start_time"] == 2000 and failed["execution_end_time"] == 2100
    assert failed["execution_error"] == {"prompt_id": "bad", "timestamp": 2100}
    assert "outputs" not in failed and "workflow" not in failed
    detail = find_job("ok", sources())
    assert detail["workflow"] == {"prompt": {"1": {}}, "extra_data": {"client_id": "c", "create_time": 100,
                                                                      "extra_pnginfo": {"workflow": {"id": "wf-a"}}}}
    assert detail["outputs"] == {} and detail["execution_status"]["status_str"] == "success"
    assert find_job("nope", sources()) is None


def test_status_filter_workflow_filter_and_ascending_order():
    assert ids(list_jobs(sources(), parse_jobs_query({"status": "completed, FAILED"}))) == ["bad", "ok"]
    assert ids(list_jobs(sources(), parse_jobs_query({"status": "pending", "sort_order": "ASC"}))) == ["p1", "p2"]
    assert ids(list_jobs(sources(), parse_jobs_query({"workflow_id": "wf-a"}))) == ["p1", "ok"]
    # Only separators: stock's filter is an empty list, so nothing matches.
    assert list_jobs(sources(), parse_jobs_query({"status": ", ,"}))["jobs"] == []


def test_sort_by_execution_duration_puts_unfinished_jobs_at_zero():
    body = list_jobs(sources(), parse_jobs_query({"sort_by": "execution_duration"}))
    assert ids(body)[:3] == ["ok", "stop", "bad"]  # 900, 500, 100
    assert ids(body)[3:] == ["run", "p1", "p2"]  # 0 each: order before sorting kept (stable)


def test_paging_reports_the_total_before_the_page_and_whether_more_follow():
    body = list_jobs(sources(), parse_jobs_query({"limit": "2", "offset": "3"}))
    assert ids(body) == ["stop", "bad"]
    assert body["pagination"] == {"offset": 3, "limit": 2, "total": 6, "has_more": True}
    last = list_jobs(sources(), parse_jobs_query({"limit": "5", "offset": "4"}))
    assert ids(last) == ["bad", "ok"] and last["pagination"]["has_more"] is False
    assert parse_jobs_query({"offset": "-3"}).offset == 0  # negative offsets are clamped, not refused


@pytest.mark.parametrize("query, message", [
    ({"status": "done,pending"},
     "Invalid status value(s): done. Valid values: pending, in_progress, completed, failed, cancelled"),
    ({"sort_by": "name"}, "sort_by must be 'created_at' or 'execution_duration'"),
    ({"sort_order": "up"}, "sort_order must be 'asc' or 'desc'"),
    ({"limit": "0"}, "limit must be a positive integer"),
    ({"limit": "ten"}, "limit must be an integer"),
    ({"offset": "1.5"}, "offset must be an integer"),
])
def test_bad_queries_are_refused_with_stocks_messages(query, message):
    with pytest.raises(JobsQueryError) as refused:
        parse_jobs_query(query)
    assert refused.value.body == {"error": message}


def test_a_batch_cancel_names_every_id_that_is_not_a_canonical_uuid():
    assert invalid_job_ids([UUID, UUID.upper(), "job-1", 5, None]) == [UUID.upper(), "job-1", "5", "None"]
    assert invalid_job_ids([UUID]) == []


def test_the_preview_prefers_a_saved_image_over_a_temp_one_and_text():
    outputs = {
        "1": {"text": ["hello"]},
        "2": {"images": [{"filename": "p.png", "subfolder": "", "type": "temp"}]},
        "3": {"text": [{"filename": "notes.txt", "type": "output"}]},
        "4": {"images": [{"filename": "a.png", "subfolder": "", "type": "output"}], "animated": [False]},
    }
    count, preview = outputs_summary(outputs)
    assert count == 3  # raw text is a preview only, never an output
    assert preview == {"filename": "a.png", "subfolder": "", "type": "output", "nodeId": "4", "mediaType": "images"}
    del outputs["4"]
    assert outputs_summary(outputs)[1]["filename"] == "p.png"
    del outputs["2"]
    assert outputs_summary(outputs)[1] == {"filename": "notes.txt", "type": "output", "nodeId": "3",
                                           "mediaType": "text"}
    del outputs["3"]
    assert outputs_summary(outputs) == (0, {"content": "hello", "nodeId": "1", "mediaType": "text"})


def test_long_text_is_cut_to_1024_characters_and_marked():
    preview = outputs_summary({"7": {"text": ["x" * 1500]}})[1]
    assert preview["content"] == "x" * 1024 and preview["truncated"] is True


def test_3d_file_names_count_as_outputs_and_other_media_only_when_previewable():
    outputs = {"5": {"3d": ["mesh.glb", "readme"],
                     "latents": [{"filename": "a.latent", "type": "output"}],
                     "gifs": [{"filename": "a.mp4", "type": "output", "format": "video/h264-mp4"}]}}
    count, preview = outputs_summary(outputs)
    assert count == 3  # the mesh, the latent, the video; "readme" is neither
    assert preview == {"filename": "mesh.glb", "type": "output", "subfolder": "", "mediaType": "3d", "nodeId": "5"}
    assert previewable_count(outputs) == 2  # not the latent
    detail = find_job("x", JobSources(history={"x": finished(1, "x", 1, outputs=outputs)}))
    assert detail["outputs"]["5"]["3d"] == [
        {"filename": "mesh.glb", "type": "output", "subfolder": "", "mediaType": "3d"}, "readme"]
