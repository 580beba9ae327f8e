"""front/log_relay.py against a worker's WebSocket on loopback that sends what is not a JSON object."""
import asyncio

import aiohttp
from aiohttp import web

from multigpu.front.log_relay import LogRelay


async def relay_through_a_worker_sending(frames):
    """Subscribe one client through a worker that, once subscribed, sends `frames` then a logs
    message; what the client got."""
    subscribed, got = asyncio.Event(), asyncio.Event()
    sent = []

    async def socket(request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await subscribed.wait()
        for frame in frames:
            await ws.send_str(frame)
        await ws.send_json({"type": "logs", "data": {"entries": [{"m": "model loaded\n"}]}})
        await ws.receive()  # until the relay closes it
        return ws

    async def subscribe(request):
        subscribed.set()
        return web.Response(status=200)

    app = web.Application()
    app.router.add_get("/ws", socket)
    app.router.add_patch("/internal/logs/subscribe", subscribe)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"

    def send(event, data, client):
        sent.append((event, data, client))
        got.set()

    async with aiohttp.ClientSession() as session:
        relay = LogRelay(lambda: base, lambda: session, send, retry_s=0.01)
        await relay.subscribe("viewer", True)
        try:
            await asyncio.wait_for(got.wait(), 30)
        except asyncio.TimeoutError:
            pass
        await relay.stop()
    await runner.cleanup()
    return sent


def test_a_message_that_is_not_a_json_object_is_skipped_and_the_logs_after_it_still_reach_the_client():
    sent = asyncio.run(relay_through_a_worker_sending(["not json", "[1, 2]", "null"]))
    assert sent == [("logs", {"entries": [{"m": "model loaded\n"}]}, "viewer")]
