"""The loop's idle GPUs: only from pods discovery lists now, less those it has just given a job."""
import asyncio
from types import SimpleNamespace

from job_runner.pods import Pod
from job_runner.runner import Runner
from job_runner.settings import RunnerSettings


class IdlePod:
    def __init__(self, gpus):
        self.gpus = gpus

    async def queue_all(self):
        return {"queues": [{"gpu_id": g, "running_count": 0, "pending_count": 0, "state": "in_service"}
                           for g in range(self.gpus)]}


def test_a_pod_that_left_discovery_takes_no_new_job_and_held_gpus_are_not_offered():
    settings = RunnerSettings(queue_url="q", table_name="t", outputs_bucket="b", region="r", runner_name="n")
    ctx = SimpleNamespace(settings=settings,
                          pods={"ready": SimpleNamespace(name="ready", client=IdlePod(2)),
                                "draining": SimpleNamespace(name="draining", client=IdlePod(4))})
    runner = Runner(ctx, session=None, discovery=SimpleNamespace(in_cluster=False))
    runner._held["ready"] = {1}
    assert asyncio.run(runner._idle_slots([Pod("ready", "http://ready")])) == [("ready", 0)]
    assert runner.scaling.ready_pods == ("ready",)  # the draining pod's queue is not demand either
