"""GET /view?type=temp in process mode (front/proxy_routes.py) against real aiohttp servers on
loopback standing in for workers: each worker that is up is asked in turn for the preview."""
import asyncio
import socket
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from multigpu.front.proxy_routes import install_proxy_routes


@dataclass
class Worker:
    base_url: str
    up: bool = True


def unused_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_a_worker_that_just_went_away_is_skipped_and_the_next_one_serves_the_preview():
    async def view(request):
        return web.Response(body=b"preview", content_type="image/png")

    async def main():
        has_it = web.Application()
        has_it.router.add_get("/view", view)
        async with TestServer(has_it) as second, aiohttp.ClientSession() as session:
            # The first still counts as up: its socket closes a moment after its process died.
            workers = [Worker(unused_url()), Worker(str(second.make_url("")).rstrip("/"))]
            front = web.Application()
            install_proxy_routes(front, workers, lambda: workers[0], lambda: session, lambda *a: None)
            async with TestClient(TestServer(front)) as http:
                answer = await http.get("/view", params={"filename": "p.png", "type": "temp"})
                return answer.status, await answer.read()

    assert asyncio.run(main()) == (200, b"preview")
