"""comfyui_ws_sessions_recent over HTTP: the middleware counts browser WebSocket connects (an Origin header) and the
pool browser prompts; the job runner's and API clients' sockets and prompts do not count. Fake clock, no timing."""
import asyncio

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from multigpu.core.pool import GpuPool
from multigpu.core.settings import PoolSettings
from multigpu.http.install import install_routes
from multigpu.http.ws_hub import WebSocketHub
from multigpu.sim.intake import add_sim_routes
from multigpu.sim.workflow import sim_workflow

from fake_executor import FakeExecutor

ORIGIN = {"Origin": "https://d111.cloudfront.net"}


class Clock:
    def __init__(self):
        self.now = 5000.0

    def __call__(self):
        return self.now


async def recent(http) -> float:
    text = await (await http.get("/metrics")).text()
    [line] = [l for l in text.splitlines() if l.startswith("comfyui_ws_sessions_recent ")]
    return float(line.split()[1])


def test_browser_connects_and_prompts_count_within_the_window_and_other_clients_do_not(tmp_path):
    clock = Clock()
    pool = GpuPool(FakeExecutor(2), 2, clock=clock, settings=PoolSettings(session_activity_seconds=300))

    async def main():
        hub = WebSocketHub()
        await hub.start()
        app = web.Application()
        install_routes(app, pool)
        add_sim_routes(app, pool, hub, str(tmp_path), 2)
        async with TestClient(TestServer(app)) as http:
            assert await recent(http) == 0
            runner = await http.ws_connect("/ws?clientId=job-runner-1")  # no Origin: not a browser
            tab = await http.ws_connect("/ws?clientId=tab-a", headers=ORIGIN)
            first_visit = await http.ws_connect("/api/ws", headers=ORIGIN)  # a fresh tab: no clientId yet
            assert await recent(http) == 2
            clock.now += 200
            api = await http.post("/prompt", json={"prompt": sim_workflow(seed=1), "client_id": "comfyctl"})
            assert api.status == 200 and await recent(http) == 2
            browser = await http.post("/api/prompt", headers=ORIGIN,
                                      json={"prompt": sim_workflow(seed=2), "client_id": "tab-b"})
            assert browser.status == 200 and await recent(http) == 3
            clock.now += 101  # the connects are 301 s old, tab-b's prompt 101 s
            assert await recent(http) == 1
            clock.now += 200
            assert await recent(http) == 0
            for socket in (runner, tab, first_visit):
                await socket.close()
        await hub.stop()

    try:
        asyncio.run(main())
    finally:
        pool.stop()
