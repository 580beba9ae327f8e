"""GET /healthz: 200 while the loop turns, 503 once it has not turned for far longer than a turn takes."""
import asyncio
import time
from types import SimpleNamespace

import aiohttp
from aiohttp import web

from job_runner.health import health_app, stuck_after_seconds


def fake_runner(last_loop):
    settings = SimpleNamespace(receive_wait_seconds=2)
    return SimpleNamespace(ctx=SimpleNamespace(settings=settings, leases={}, pods={"pod-a": None}),
                           loops=7, last_loop=last_loop)


async def get_healthz(runner):
    app_runner = web.AppRunner(health_app(runner), access_log=None)
    await app_runner.setup()
    site = web.TCPSite(app_runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/healthz") as answer:
                return answer.status, await answer.json()
    finally:
        await app_runner.cleanup()


def test_healthz_answers_200_while_the_loop_turns_and_503_when_it_is_stuck():
    status, body = asyncio.run(get_healthz(fake_runner(time.monotonic())))
    assert status == 200 and body["ok"] and body["loops"] == 7 and body["pods"] == ["pod-a"]
    stuck = time.monotonic() - stuck_after_seconds(2) - 1
    status, body = asyncio.run(get_healthz(fake_runner(stuck)))
    assert status == 503 and not body["ok"]
