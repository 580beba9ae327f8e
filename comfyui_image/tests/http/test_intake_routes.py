"""http/intake_routes.py POST /prompt over HTTP (in-process aiohttp server, a fake executor): what a
prompt's submitter sends and what every other client of the server can read back."""
import asyncio

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from multigpu.core.pool import GpuPool
from multigpu.http.install import install_routes
from multigpu.http.intake_routes import add_intake_routes
from multigpu.http.ws_hub import WebSocketHub

from fake_executor import FakeExecutor, wait_for

CREDENTIALS = {"api_key_comfy_org": "key-of-alice", "auth_token_comfy_org": "token-of-alice"}


class RecordingExecutor(FakeExecutor):
    def __init__(self, num_gpus):
        super().__init__(num_gpus)
        self.tasks = []

    def execute(self, gpu_id, task, *, last_attempt):
        self.tasks.append(task)
        return super().execute(gpu_id, task, last_attempt=last_attempt)


async def validate(body):
    return None, ["9"]


def test_comfy_org_credentials_reach_the_executor_but_not_the_queue_or_the_history():
    executor = RecordingExecutor(1)
    pool = GpuPool(executor, 1)
    hub = WebSocketHub()

    async def main():
        app = web.Application()
        install_routes(app, pool)
        add_intake_routes(app, pool, hub, validate=validate)
        async with TestClient(TestServer(app)) as http:
            await hub.start()
            answer = await http.post("/prompt", json={"prompt": {"9": {"class_type": "SaveImage", "inputs": {}}},
                                                      "client_id": "alice", "extra_data": dict(CREDENTIALS)})
            prompt_id = (await answer.json())["prompt_id"]
            await asyncio.get_running_loop().run_in_executor(None, wait_for, lambda: prompt_id in executor.announced)
            history = await (await http.get(f"/history/{prompt_id}")).json()
            await hub.stop()
            return history[prompt_id]["prompt"][3]

    pool.start()
    try:
        stored_extra_data = asyncio.run(main())
    finally:
        pool.stop()
    # As stock server.py post_prompt: the sensitive keys travel beside extra_data, never in it.
    assert executor.tasks[0].sensitive == CREDENTIALS
    assert not set(CREDENTIALS) & set(executor.tasks[0].extra_data)
    assert not set(CREDENTIALS) & set(stored_extra_data) and stored_extra_data["client_id"] == "alice"
