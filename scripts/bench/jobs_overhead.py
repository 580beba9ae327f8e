"""Benchmark of the job runner's overhead, with moto, the multi-GPU simulator and a real runner process.

    comfyui_image/.venv/bin/python scripts/bench/jobs_overhead.py [--jobs 40] [--exec-ms 100] [--burst 200]

Prints:
  1. end-to-end time of a job (queue message -> job completed with its output in S3) against a direct
     POST /prompt on the same simulator (-> its end on the WebSocket), one at a time on an idle GPU;
     the difference is the runner's overhead per job (p50/p95; target p50 < 100 ms);
  2. pickup latency with an idle GPU: message sent -> prompt submitted to the pod (target < 1 s);
  3. throughput with 4 simulated GPUs: a burst of jobs, jobs/s against the GPUs' own bound.
moto answers in milliseconds where AWS answers in a few, both ways; figures are for the runner's own path.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import pathlib
import statistics
import sys
import tempfile
import time
import uuid

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "comfyui_image"))
sys.path.insert(0, str(REPO / "comfyui_image" / "tests" / "job_runner"))
from backend import create_backend  # noqa: E402  (shared with the runner's tests)
from multigpu.sim.workflow import sim_workflow  # noqa: E402
from processes import moto, runner, simulator, wait_for  # noqa: E402

TIMINGS = {"JOB_HEARTBEAT_SECONDS": "1", "JOB_LEASE_SECONDS": "15", "JOB_VISIBILITY_TIMEOUT_SECONDS": "30"}


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


def direct_prompts(base: str, count: int) -> list:
    """Seconds from POST /prompt to the prompt's end on the WebSocket, as an interactive client sees it."""
    import aiohttp

    async def measure():
        timings, client_id = [], uuid.uuid4().hex
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"{base}/ws?clientId={client_id}") as socket:
                for i in range(count):
                    started = time.time()
                    async with session.post(f"{base}/prompt", json={"prompt": sim_workflow(seed=i),
                                                                    "client_id": client_id}) as answer:
                        prompt_id = (await answer.json())["prompt_id"]
                    async for message in socket:
                        data = json.loads(message.data) if message.type == aiohttp.WSMsgType.TEXT else {}
                        if (data.get("type") == "executing" and data["data"].get("node") is None
                                and data["data"].get("prompt_id") == prompt_id):
                            break
                    timings.append(time.time() - started)
        return timings

    return asyncio.run(measure())


def emulator_call_ms(backend, samples: int = 30) -> dict:
    """moto's own answer time (p50, ms) for the calls on a job's path, so the runner's share can be read
    apart from the emulator's: ReceiveMessage, UpdateItem (pickup, completion), PutObject (the output)."""
    dynamodb, s3, sqs = backend.client("dynamodb"), backend.client("s3"), backend.client("sqs")
    key = {"pk": {"S": "bench#probe"}}
    calls = {
        "UpdateItem": lambda: dynamodb.update_item(TableName=backend.table, Key=key,
                                                   UpdateExpression="SET n = :n", ExpressionAttributeValues={":n": {"N": "1"}}),
        "PutObject": lambda: s3.put_object(Bucket=backend.bucket, Key="bench/probe.png", Body=b"x" * 200,
                                           ContentType="image/png"),
        "ReceiveMessage": lambda: sqs.receive_message(QueueUrl=backend.dlq_url, WaitTimeSeconds=0),
    }
    answer = {}
    for name, call in calls.items():
        timings = []
        for _ in range(samples):
            started = time.perf_counter()
            call()
            timings.append((time.perf_counter() - started) * 1000)
        answer[name] = statistics.median(timings)
    return answer


def finished_at(proc, job_id):
    return next((e["time"] for e in proc.events("job_finished") if e["job_id"] == job_id), None)


def one_job_at_a_time(backend, proc, count: int):
    ends, pickups = [], []
    for i in range(count):
        job_id = backend.put_job(sim_workflow(seed=i), send=False)  # the API writes the item first
        sent = time.time()  # from the start of SendMessage: its own latency counts against the runner
        backend.send(job_id)
        done = wait_for(lambda: finished_at(proc, job_id), f"job {job_id}", timeout=120, every=0.002)
        submitted = next(e["time"] for e in proc.events("job_submitted") if e["job_id"] == job_id)
        ends.append(done - sent)
        pickups.append(submitted - sent)
    return ends, pickups


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="jobs_overhead.py")
    parser.add_argument("--jobs", type=int, default=40, help="jobs (and direct prompts) timed one at a time")
    parser.add_argument("--exec-ms", type=float, default=100.0, help="simulated execution time per prompt")
    parser.add_argument("--burst", type=int, default=200, help="jobs in the throughput burst")
    args = parser.parse_args(argv)
    print(f"job runner overhead: 1 runner, 1 simulated pod of 4 GPUs, exec {args.exec_ms:.0f} ms, moto "
          f"(python {sys.version.split()[0]})", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        logs = pathlib.Path(folder)
        with moto(logs) as endpoint, simulator(logs, gpus=4, exec_ms=args.exec_ms) as (base, _, _):
            direct = direct_prompts(base, args.jobs)
            backend = create_backend(endpoint, visibility_seconds=30)
            with runner(logs, backend.runner_env(), [f"pod-a={base}"], timings=TIMINGS) as proc:
                one_job_at_a_time(backend, proc, 3)  # warm: connections, first imports
                ends, pickups = one_job_at_a_time(backend, proc, args.jobs)
                overhead = [(e - statistics.median(direct)) * 1000 for e in ends]
                print(f"1. direct POST /prompt -> end: p50 {percentile(direct, .5) * 1000:.1f} ms, p95 "
                      f"{percentile(direct, .95) * 1000:.1f} ms; job message -> completed with output in S3: "
                      f"p50 {percentile(ends, .5) * 1000:.1f} ms, p95 {percentile(ends, .95) * 1000:.1f} ms; "
                      f"overhead per job p50 {percentile(overhead, .5):.1f} ms, p95 {percentile(overhead, .95):.1f} "
                      f"ms (target p50 < 100 ms)")
                moto_ms = emulator_call_ms(backend)
                path_ms = moto_ms["ReceiveMessage"] + 2 * moto_ms["UpdateItem"] + moto_ms["PutObject"]
                print(f"   moto's own p50 per call: " + ", ".join(f"{k} {v:.1f} ms" for k, v in moto_ms.items())
                      + f"; the 4 calls on a job's path (receive, pickup, output, completion) {path_ms:.1f} ms, "
                      f"leaving {percentile(overhead, .5) - path_ms:.1f} ms p50 to the runner itself")
                print(f"2. pickup latency, idle GPU (message sent -> prompt submitted): p50 "
                      f"{percentile(pickups, .5) * 1000:.1f} ms, p95 {percentile(pickups, .95) * 1000:.1f} ms, "
                      f"max {max(pickups) * 1000:.1f} ms (target < 1 s)")
                before = len(proc.events("job_finished"))
                ids = set(backend.put_jobs([sim_workflow(seed=i) for i in range(args.burst)]))
                wait_for(lambda: len(proc.events("job_finished")) - before >= args.burst, "the burst",
                         timeout=1800, every=0.05)
                # The runner's own clock: its first pickup to its last completion (writing the items and
                # queueing the messages, which the API does job by job, is not the runner's time).
                first = min(e["time"] for e in proc.events("job_submitted") if e["job_id"] in ids)
                last = max(e["time"] for e in proc.events("job_finished") if e["job_id"] in ids)
                elapsed = last - first
                bound = 4 / (args.exec_ms / 1000)
                # Five calls per job (receive, pickup, output, completion, delete) on one moto process:
                # at its p50 answer times, the most jobs per second moto itself can serve.
                moto_bound = 1000 / (2 * moto_ms["ReceiveMessage"] + 2 * moto_ms["UpdateItem"] + moto_ms["PutObject"])
                print(f"3. throughput, 4 GPUs: {args.burst} jobs in {elapsed:.1f} s = {args.burst / elapsed:.1f} "
                      f"jobs/s; the GPUs alone bound it at {bound:.1f} jobs/s ({args.burst / elapsed / bound:.0%}), "
                      f"moto alone at about {moto_bound:.1f} jobs/s (5 calls per job at its p50)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
