"""POST /interrupt over HTTP (in-process aiohttp server, prompts held by gates, no timing)."""
import asyncio
import threading

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from multigpu.core.pool import GpuPool
from multigpu.http.install import install_routes

from fake_executor import FakeExecutor, make_task, wait_for


def run_against_pool(clients, scenario):
    """Start a pool whose GPU i runs a prompt of clients[i] until interrupted, then run
    `scenario(http, running_ids)` against its routes."""
    executor = FakeExecutor(len(clients))
    pool = GpuPool(executor, len(clients))
    pool.start()
    assert pool.wait_until_warm(5)
    ids = []
    for gpu, client in enumerate(clients):
        ids.append(f"{client}-{gpu}")
        executor.hold[ids[-1]] = threading.Event()
        pool.submit(make_task(ids[-1], client_id=client), gpu)
    wait_for(lambda: len(executor.started) == len(clients))

    async def main():
        app = web.Application()
        install_routes(app, pool)
        async with TestClient(TestServer(app)) as http:
            await scenario(http, ids, pool)

    try:
        asyncio.run(main())
    finally:
        for gate in executor.hold.values():
            gate.set()
        pool.stop()


def test_the_web_uis_cancel_with_its_prompt_id_stops_only_that_prompt():
    async def scenario(http, ids, pool):
        answer = await http.post("/api/interrupt", json={"prompt_id": ids[1]})
        assert answer.status == 200
        assert await answer.json() == {"interrupted_gpus": [1], "interrupted_prompts": [ids[1]]}
        wait_for(lambda: 1 not in pool.running_prompt_ids())
        assert set(pool.running_prompt_ids()) == {0, 2}

    run_against_pool(["alice", "bob", "carol"], scenario)


def test_a_cancel_naming_nothing_stops_nothing_while_several_clients_render():
    async def scenario(http, ids, pool):
        answer = await http.post("/interrupt")  # the legacy Cancel button: no body at all
        assert answer.status == 409
        body = await answer.json()
        assert body["interrupted_gpus"] == [] and '{"all": true}' in body["error"]["message"]
        assert set(pool.running_prompt_ids()) == {0, 1, 2}

    run_against_pool(["alice", "bob", "carol"], scenario)


def test_a_cancel_naming_nothing_from_the_only_client_rendering_stops_its_prompts():
    async def scenario(http, ids, pool):
        answer = await http.post("/interrupt")
        assert (await answer.json())["interrupted_gpus"] == [0, 1]

    run_against_pool(["alice", "alice"], scenario)


def test_a_client_id_stops_that_clients_prompts_and_all_stops_every_gpu():
    async def scenario(http, ids, pool):
        answer = await http.post("/interrupt?clientId=bob")
        assert (await answer.json())["interrupted_prompts"] == [ids[1], ids[2]]
        answer = await http.post("/interrupt", json={"client_id": "alice"})
        assert (await answer.json())["interrupted_prompts"] == [ids[0]]
        wait_for(lambda: set(pool.running_prompt_ids()) == {3})
        answer = await http.post("/interrupt", json={"all": True})
        assert (await answer.json())["interrupted_gpus"] == [3]

    run_against_pool(["alice", "bob", "bob", "carol"], scenario)


def test_the_gpu_header_stops_that_gpu_and_bad_fields_are_400s():
    async def scenario(http, ids, pool):
        answer = await http.post("/interrupt", headers={"X-TARGET-GPU": "1"})
        assert (await answer.json())["interrupted_gpus"] == [1]
        for body in ({"prompt_id": 7}, {"client_id": ["x"]}, {"all": "yes"}):
            answer = await http.post("/interrupt", json=body)
            assert answer.status == 400

    run_against_pool(["alice", "bob"], scenario)
