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


async def get(runner, path: str):
    """(status, Cache-Control, JSON) of GET `path` on the runner's own port, served on 127.0.0.1."""
    app_runner = web.AppRunner(health_app(runner), access_log=None)
    await app_runner.setup()
    site = web.TCPSite(app_runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}{path}") as answer:
                return answer.status, answer.headers.get("Cache-Control"), await answer.json()
    finally:
        await app_runner.cleanup()


def test_healthz_answers_200_while_the_loop_turns_and_503_when_it_is_stuck():
    status, _, body = asyncio.run(get(fake_runner(time.monotonic()), "/healthz"))
    assert status == 200 and body["ok"] and body["loops"] == 7 and body["pods"] == ["pod-a"]
    stuck = time.monotonic() - stuck_after_seconds(2) - 1
    status, _, body = asyncio.run(get(fake_runner(stuck), "/healthz"))
    assert status == 503 and not body["ok"]


def test_scaling_answers_the_views_numbers_and_503_when_they_are_stale():
    from job_runner.scaling import PodLoad, ScalingView

    now = [10.0]
    view = ScalingView(clock=lambda: now[0], stale_seconds=30)
    view.pods_seen({"pod-a"}, {"pod-a": PodLoad(prompts=3, pending=1, busy_gpus=2)})
    view.sessions_seen("pod-a", 1)
    view.backlog_seen(2)
    runner = fake_runner(time.monotonic())
    runner.scaling = view
    status, cache, body = asyncio.run(get(runner, "/scaling"))
    assert (status, cache) == (200, "no-store")
    assert body == {"demand": 5, "prompts": 3, "backlog": 2, "recent_sessions": 1, "pods": 1, "busy_gpus": 2}
    now[0] += 31
    status, _, body = asyncio.run(get(runner, "/scaling"))
    # KEDA's metrics-api scaler treats any status but 200 as a trigger error (metrics_api_scaler.go).
    assert status == 503 and body["demand"] == 5 and "last listed" in body["error"]
