"""The transitions against DynamoDB's own condition checks (moto), and uploads to S3, single and multipart."""
import asyncio

import pytest

from job_runner import transitions as t
from job_runner.aws import PART_BYTES, ConditionFailed, JobStore, OutputStore
from job_runner.contract import load_contract

C = load_contract()
WORKER = {"pod": "p", "gpu": 0, "prompt_id": "x"}


def run(coroutine):
    return asyncio.run(coroutine)


@pytest.fixture
def store(backend):
    return JobStore(backend.client("dynamodb"), backend.table)


def test_a_pending_job_is_picked_up_once_and_completed_exactly_once(backend, store):
    job_id = backend.put_job({"1": {}}, send=False)
    item = run(store.update(t.pick_up(C, job_id, now_ms=1000, lease_ms=500, worker=WORKER, runner="a")))
    assert (item["status"], item["attempt"], item["worker"], item["lease_until"]) == ("in_progress", 1, WORKER, 1500)
    with pytest.raises(ConditionFailed) as refused:  # a second runner gets the item to decide on instead
        run(store.update(t.pick_up(C, job_id, now_ms=1100, lease_ms=500, worker=WORKER, runner="b")))
    assert refused.value.item["attempt"] == 1
    run(store.update(t.finish(C, job_id, attempt=1, status="completed", now_ms=2000, outputs=[{"key": "k"}],
                              progress={"step": 1.5})))
    with pytest.raises(ConditionFailed):
        run(store.update(t.finish(C, job_id, attempt=1, status="failed", now_ms=2001)))
    job = backend.job(job_id)
    assert job["status"] == "completed" and "lease_until" not in job and job["execution_end_time"] == 2000


def test_a_takeover_needs_a_lapsed_lease_and_the_attempt_seen_and_fences_the_old_runner(backend, store):
    job_id = backend.put_job({"1": {}}, send=False)
    run(store.update(t.pick_up(C, job_id, now_ms=1000, lease_ms=500, worker=WORKER, runner="a")))
    with pytest.raises(ConditionFailed):  # lease still held
        run(store.update(t.take_over(C, job_id, now_ms=1400, lease_ms=500, seen_attempt=1, runner="b")))
    run(store.update(t.take_over(C, job_id, now_ms=1600, lease_ms=500, seen_attempt=1, runner="b")))
    with pytest.raises(ConditionFailed):  # a racing runner that saw the same attempt loses
        run(store.update(t.take_over(C, job_id, now_ms=1600, lease_ms=500, seen_attempt=1, runner="c")))
    with pytest.raises(ConditionFailed):  # the old runner's beat and completion no longer land
        run(store.update(t.heartbeat(C, job_id, attempt=1, now_ms=1700, lease_ms=500)))
    job = backend.job(job_id)
    assert job["attempt"] == 2 and job["worker"] == WORKER and job["runner"] == "b"


def test_a_heartbeat_returns_cancel_requested_and_release_and_hand_back_keep_or_drop_the_worker(backend, store):
    job_id = backend.put_job({"1": {}}, send=False)
    run(store.update(t.pick_up(C, job_id, now_ms=1000, lease_ms=500, worker=WORKER, runner="a")))
    backend.request_cancel(job_id)
    item = run(store.update(t.heartbeat(C, job_id, attempt=1, now_ms=1200, lease_ms=500, progress={"step": 2})))
    assert item["cancel_requested"] is True and item["lease_until"] == 1700 and item["progress"] == {"step": 2}
    run(store.update(t.release(C, job_id, attempt=1, now_ms=1300)))
    assert backend.job(job_id)["lease_until"] == 1300 and backend.job(job_id)["worker"] == WORKER
    run(store.update(t.hand_back(C, job_id, attempt=1, now_ms=1400)))
    job = backend.job(job_id)
    assert job["status"] == "pending" and "worker" not in job and "lease_until" not in job
    with pytest.raises(ConditionFailed):  # a pending job asked to cancel is never picked up...
        run(store.update(t.pick_up(C, job_id, now_ms=1500, lease_ms=500, worker=WORKER, runner="a")))
    run(store.update(t.cancel_pending(C, job_id, now_ms=1600)))  # ...it is cancelled
    assert backend.job(job_id)["status"] == "cancelled"


def test_finish_refuses_a_status_that_is_not_terminal():
    with pytest.raises(ValueError, match="terminal status"):
        t.finish(C, "j", attempt=1, status="pending", now_ms=0)


async def chunks(data, size):
    for start in range(0, len(data), size):
        yield data[start:start + size]


@pytest.mark.parametrize("size", [0, 1000, PART_BYTES * 2 + 123])
def test_uploads_stream_small_files_in_one_put_and_large_ones_in_parts(backend, size):
    outputs = OutputStore(backend.client("s3"), backend.bucket)
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    assert run(outputs.upload("jobs/a/j/f.png", "image/png", chunks(data, 2**20))) == size
    stored = backend.object("jobs/a/j/f.png")
    assert stored["Body"].read() == data and stored["ContentType"] == "image/png"


def test_a_failed_stream_aborts_its_multipart_upload(backend):
    outputs = OutputStore(backend.client("s3"), backend.bucket)

    async def broken():
        yield b"x" * PART_BYTES
        raise ConnectionResetError("pod went away")

    with pytest.raises(ConnectionResetError):
        run(outputs.upload("jobs/a/j/f.png", "image/png", broken()))
    assert backend.client("s3").list_multipart_uploads(Bucket=backend.bucket).get("Uploads", []) == []
