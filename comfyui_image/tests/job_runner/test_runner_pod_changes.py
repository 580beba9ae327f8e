"""Pods that come and go, with the runner in this process and a stand-in for the Kubernetes API (the listing and
the deletion-cost patch; the real API server's side is test/lib/manifests-job-runner-apiserver.test.ts): a pod that
starts terminating (it leaves the ready listing, as one with a deletionTimestamp does) takes no new job even with
an idle GPU; a pod that vanishes (a spot node reclaimed) hands its job back; busy pods are marked to go last on a
scale-in, and idle ones are unmarked only after the idle period of the runner's (fake) clock."""
import asyncio
import os
import signal
import threading

import aiohttp

from multigpu.sim.workflow import sim_workflow
from job_runner.aws import JobQueue, JobStore, OutputStore, make_session_clients
from job_runner.context import RunnerContext
from job_runner.contract import load_contract
from job_runner.pods import Pod
from job_runner.runner import Runner
from job_runner.settings import parse_settings
from jobs import finished, queue_all
from processes import _children, simulator, wait_for

FOREVER_MS = 600_000
TIMINGS = {"JOB_HEARTBEAT_SECONDS": "0.5", "JOB_LEASE_SECONDS": "3", "JOB_VISIBILITY_TIMEOUT_SECONDS": "5",
           "DELETION_COST_IDLE_SECONDS": "60"}


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class KubeStandIn:
    """PodDiscovery's interface: the pods listed now, and patches that show in the next listing."""
    in_cluster = True

    def __init__(self):
        self.listed, self.costs, self.patches = [], {}, []

    async def list(self):
        return [Pod(name, url, self.costs.get(name)) for name, url in list(self.listed)]

    async def set_deletion_cost(self, pod, cost):
        self.patches.append((pod, cost))
        self.costs[pod] = cost


class RunnerThread:
    def __init__(self, env, kube, clock):
        self._env, self._kube, self._clock = env, kube, clock
        self.runner, self._loop = None, asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True)

    def _main(self):
        async def run():
            contract = load_contract()
            settings = parse_settings(self._env, contract)
            dynamodb, sqs, s3 = make_session_clients(settings.region, 16)
            ctx = RunnerContext(contract=contract, settings=settings, store=JobStore(dynamodb, settings.table_name),
                                queue=JobQueue(sqs, settings.queue_url), outputs=OutputStore(s3, settings.outputs_bucket),
                                client_id="runner-in-process")
            async with aiohttp.ClientSession() as session:
                self.runner = Runner(ctx, session, self._kube, clock=self._clock)
                self._started.set()
                await self.runner.run()
        self._loop.run_until_complete(run())

    def __enter__(self):
        self._thread.start()
        assert self._started.wait(30)
        return self

    def __exit__(self, *exc):
        self._loop.call_soon_threadsafe(self.runner.stop)
        self._thread.join(60)

    def turns_after(self, extra):
        start = self.runner.loops
        return lambda: self.runner.loops >= start + extra


def running_on(backend, job_ids, pod):
    return [j for j in job_ids if backend.job(j).get("status") == "in_progress"
            and (backend.job(j).get("worker") or {}).get("pod") == pod]


def test_a_terminating_pod_takes_no_new_job_a_vanished_one_hands_its_job_back_and_busy_pods_go_last(
        backend, tmp_path, monkeypatch):
    env = {**backend.runner_env(), **TIMINGS, "RUNNER_NAME": "runner-in-process"}
    for name, value in backend.runner_env().items():
        monkeypatch.setenv(name, value)  # boto3 reads AWS_ENDPOINT_URL from the environment
    kube, clock = KubeStandIn(), Clock()
    with simulator(tmp_path, gpus=2, exec_ms=FOREVER_MS, name="pod-a") as (base_a, sim_a, _), \
            simulator(tmp_path, gpus=1, exec_ms=FOREVER_MS, name="pod-b") as (base_b, _, _):
        kube.listed = [("pod-a", base_a)]
        with RunnerThread(env, kube, clock) as runner:
            first = backend.put_job(sim_workflow(seed=1))
            wait_for(lambda: running_on(backend, [first], "pod-a"), "the first job on pod-a", 90)
            wait_for(lambda: ("pod-a", 1000) in kube.patches, "pod-a marked busy", 60)

            kube.listed = []  # pod-a starts terminating: it leaves the ready listing, its prompt drains
            second = backend.put_job(sim_workflow(seed=2))
            wait_for(runner.turns_after(5), "5 more turns of the loop", 60)
            assert backend.job(second)["status"] == "pending" and backend.job(second)["attempt"] == 0
            assert queue_all(base_a)["total_running"] == 1  # its idle GPU got nothing
            assert backend.job(first)["status"] == "in_progress"  # still followed while it drains

            for child in _children(sim_a.pid) or [sim_a.pid]:  # the spot node is reclaimed
                os.kill(child, signal.SIGKILL)
            wait_for(lambda: backend.job(first).get("status") == "pending", "the first job handed back", 90)
            assert backend.job(first)["attempt"] == 1 and "worker" not in backend.job(first)

            kube.listed = [("pod-b", base_b)]
            wait_for(lambda: running_on(backend, [first, second], "pod-b"), "a job on pod-b", 90)
            wait_for(runner.turns_after(5), "5 more turns of the loop", 60)
            assert len(running_on(backend, [first, second], "pod-b")) == 1  # one GPU, one job
            wait_for(lambda: ("pod-b", 1000) in kube.patches, "pod-b marked busy", 60)

            for job_id in (first, second):
                backend.request_cancel(job_id)
            for job_id in (first, second):
                wait_for(lambda: finished(backend, job_id), f"job {job_id} to end", 90)
            wait_for(lambda: queue_all(base_b)["total_running"] == 0, "pod-b idle", 30)
            wait_for(runner.turns_after(3), "3 more turns of the loop", 60)
            assert ("pod-b", 0) not in kube.patches  # idle, but not for the idle period yet
            clock.now += 61
            wait_for(lambda: ("pod-b", 0) in kube.patches, "pod-b unmarked once idle", 60)
            assert kube.patches == [("pod-a", 1000), ("pod-b", 1000), ("pod-b", 0)]
            status, body = runner.runner.scaling.answer()
            assert body["pods"] == 1 and body["prompts"] == 0
