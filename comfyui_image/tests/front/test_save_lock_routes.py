"""POST /multigpu/save-lock over HTTP (in-process aiohttp server): two fake workers ask for one
(folder, prefix); the second waits until the first worker's next message reaches RemoteExecutor, or
until the holder dies. Waits are on conditions, never on durations."""
import asyncio
import time

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from multigpu.core.remote_executor import RemoteExecutor
from multigpu.front.save_lock_routes import SAVE_LOCK_PATH, install_save_lock_routes

TIMEOUT_S = 60.0


def ask(gpu, prefix="race", node="9", prompt_id=None):
    return {"gpu": gpu, "folder": "/out", "prefix": prefix, "prompt_id": prompt_id or f"p{gpu}", "node": node}


async def until(check, what):
    deadline = time.monotonic() + TIMEOUT_S
    while not check():
        assert time.monotonic() < deadline, f"{what} not within {TIMEOUT_S:g} s"
        await asyncio.sleep(0.01)


def run_front(scenario):
    """`scenario(http, executor, refusals)`: refusals counts each worker's refused tries."""
    executor = RemoteExecutor([object(), object()], lambda event, data, client: None)
    locks = executor.save_locks
    refusals = {0: 0, 1: 0}
    original = locks.try_take

    def counting_try_take(gpu, *args):
        taken = original(gpu, *args)
        refusals[gpu] += not taken
        return taken

    locks.try_take = counting_try_take

    async def main():
        app = web.Application()
        install_save_lock_routes(app, locks, num_gpus=2)
        async with TestClient(TestServer(app)) as http:
            await scenario(http, executor, refusals)

    asyncio.run(main())


async def held_by_0_and_waited_for_by_1(http, refusals):
    """GPU 0 holds (/out, race); GPU 1's request for it is refused and waits: its pending answer."""
    assert (await http.post(SAVE_LOCK_PATH, json=ask(0))).status == 200
    second = asyncio.ensure_future(http.post(SAVE_LOCK_PATH, json=ask(1)))
    await until(lambda: refusals[1] >= 1, "the second worker's refusal")
    return second


def test_the_second_worker_waits_until_the_first_workers_next_relayed_message():
    async def scenario(http, executor, refusals):
        executor.on_message(0, "executing", {"node": "9", "prompt_id": "p0"})
        second = await held_by_0_and_waited_for_by_1(http, refusals)
        # The loop is not blocked by the waiting request: the holder gets another prefix meanwhile.
        assert (await http.post(SAVE_LOCK_PATH, json=ask(0, prefix="other"))).status == 200
        executor.on_message(0, "progress", {"value": 1, "max": 1, "prompt_id": "p0", "node": "9"})
        assert not second.done()
        executor.on_message(0, "executed", {"node": "9", "output": {}, "prompt_id": "p0"})
        answer = await asyncio.wait_for(second, TIMEOUT_S)
        assert answer.status == 200 and await answer.json() == {"granted": True}

    run_front(scenario)


def test_the_holders_death_releases_its_locks():
    async def scenario(http, executor, refusals):
        second = await held_by_0_and_waited_for_by_1(http, refusals)
        executor.worker_exited(0, "ComfyUI for GPU 0 exited with signal 9")
        assert (await asyncio.wait_for(second, TIMEOUT_S)).status == 200

    run_front(scenario)


def test_a_worker_that_dies_while_waiting_is_told_so_and_never_granted():
    async def scenario(http, executor, refusals):
        second = await held_by_0_and_waited_for_by_1(http, refusals)
        executor.worker_exited(1, "ComfyUI for GPU 1 exited with signal 9")
        answer = await asyncio.wait_for(second, TIMEOUT_S)
        assert answer.status == 409 and "GPU 1 exited" in await answer.text()
        executor.worker_exited(0, "gone")
        assert executor.save_locks.keys_held() == 0

    run_front(scenario)


def test_a_malformed_request_names_the_field():
    async def scenario(http, executor, refusals):
        answer = await http.post(SAVE_LOCK_PATH, json=ask(2))
        assert answer.status == 400 and "gpu must be 0..1, got 2" in await answer.text()
        answer = await http.post(SAVE_LOCK_PATH, json={"gpu": 0, "prefix": "race"})
        assert answer.status == 400 and "folder" in await answer.text()

    run_front(scenario)
