"""http/proxy.py forward() against a real upstream aiohttp server on loopback: what reaches the
client of the front, header by header."""
import asyncio

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from multigpu.http.proxy import forward


def through_a_proxy(upstream_handler, client_call):
    """Serve `upstream_handler` at /{tail}, put forward() in front of it, run `client_call(http)`."""

    async def main():
        upstream = web.Application()
        upstream.router.add_route("*", "/{tail:.*}", upstream_handler)
        async with TestServer(upstream) as upstream_server, aiohttp.ClientSession() as session:
            base_url = str(upstream_server.make_url("")).rstrip("/")

            async def proxy(request):
                return await forward(request, session, base_url)

            front = web.Application()
            front.router.add_route("*", "/{tail:.*}", proxy)
            async with TestClient(TestServer(front)) as http:
                return await client_call(http)

    return asyncio.run(main())


def test_every_set_cookie_header_of_the_upstream_answer_reaches_the_client():
    async def upstream(request):
        response = web.Response(text="ok")
        response.headers.add("Set-Cookie", "session=a; Path=/")
        response.headers.add("Set-Cookie", "theme=dark; Path=/")
        return response

    async def call(http):
        answer = await http.get("/login")
        return answer.headers.getall("Set-Cookie")

    assert through_a_proxy(upstream, call) == ["session=a; Path=/", "theme=dark; Path=/"]


def test_a_header_the_client_repeats_reaches_the_upstream_as_often():
    async def upstream(request):
        return web.json_response(request.headers.getall("X-Forwarded-For"))

    async def call(http):
        answer = await http.get("/echo", headers=[("X-Forwarded-For", "10.0.0.1"), ("X-Forwarded-For", "10.0.0.2")])
        return await answer.json()

    assert through_a_proxy(upstream, call) == ["10.0.0.1", "10.0.0.2"]
