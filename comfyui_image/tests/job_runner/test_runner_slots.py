"""The loop's idle GPUs: only from pods discovery lists now, less those it has just given a job."""
import asyncio
from types import SimpleNamespace

from job_runner.runner import Runner


class IdlePod:
    def __init__(self, gpus):
        self.gpus = gpus

    async def queue_all(self):
        return {"queues": [{"gpu_id": g, "running_count": 0, "pending_count": 0, "state": "in_service"}
                           for g in range(self.gpus)]}


def test_a_pod_that_left_discovery_takes_no_new_job_and_held_gpus_are_not_offered():
    ctx = SimpleNamespace(pods={"ready": SimpleNamespace(name="ready", client=IdlePod(2)),
                                "draining": SimpleNamespace(name="draining", client=IdlePod(4))})
    runner = Runner(ctx, session=None, discovery=None)
    runner._held["ready"] = {1}
    assert asyncio.run(runner._idle_slots({"ready"})) == [("ready", 0)]
