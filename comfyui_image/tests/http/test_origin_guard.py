"""The front applies stock ComfyUI's cross-origin rule to its own routes (http/origin_guard.py):
a web page may not queue prompts on a loopback ComfyUI unless --enable-cors-header allows it."""
import asyncio

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from multigpu.http.origin_guard import cors_origin_from_args, cross_site_refusal, origin_guard


@pytest.mark.parametrize("host, origin, refused", [
    ("127.0.0.1:8188", "http://127.0.0.1:8188", False),
    ("127.0.0.1:8188", "https://evil.example", True),       # a page queuing on the user's machine
    ("localhost:8188", "http://localhost:8188", False),
    ("localhost:8188", "http://localhost:9999", True),
    ("[::1]:8188", "http://[::1]:8188", False),
    ("127.0.0.1:8188", "http://127.0.0.1", False),           # a side without a port: names compared
    ("comfy.example.com", "https://evil.example", False),    # not loopback: stock leaves it alone too
    ("127.0.0.1:8188", None, False),                         # not a browser: no Origin
])
def test_a_cross_site_request_to_a_loopback_host_is_refused_as_stock_refuses_it(host, origin, refused):
    assert (cross_site_refusal(host, origin) is not None) is refused


@pytest.mark.parametrize("args, origin", [
    ([], None),
    (["--enable-cors-header"], "*"),
    (["--enable-cors-header", "https://studio.example"], "https://studio.example"),
    (["--enable-cors-header=https://a.example", "--listen"], "https://a.example"),
    (["--enable-cors-header", "--port", "8188"], "*"),
])
def test_the_allowed_origin_is_read_from_comfyuis_arguments(args, origin):
    assert cors_origin_from_args(args) == origin


def serve(cors_origin, requests):
    async def prompt(request):
        return web.json_response({"prompt_id": "p1"})

    async def main():
        app = web.Application(middlewares=[origin_guard(cors_origin)])
        app.router.add_post("/prompt", prompt)
        async with TestClient(TestServer(app, host="127.0.0.1")) as http:
            answers = []
            for method, headers in requests:
                answer = await http.request(method, "/prompt", json={}, headers=headers)
                answers.append((answer.status, dict(answer.headers)))
            return answers

    return asyncio.run(main())


def test_without_cors_a_foreign_page_gets_403_and_the_same_origin_is_served():
    (foreign, _), (own, _) = serve(None, [("POST", {"Origin": "https://evil.example"}),
                                          ("POST", {"Origin": "http://127.0.0.1"})])
    assert (foreign, own) == (403, 200)


def test_with_cors_a_preflight_is_answered_and_responses_allow_the_named_origin():
    (preflight, headers), (post, post_headers) = serve("https://studio.example", [
        ("OPTIONS", {"Origin": "https://studio.example"}), ("POST", {"Origin": "https://studio.example"})])
    assert preflight == 200 and post == 200
    assert headers["Access-Control-Allow-Origin"] == post_headers["Access-Control-Allow-Origin"] == "https://studio.example"
    assert "POST" in headers["Access-Control-Allow-Methods"]


def test_the_multi_gpu_routes_sit_inside_the_apps_own_middlewares_so_stocks_rule_covers_them():
    # Thread mode: ComfyUI's app carries stock's origin middleware and install_routes adds ours, which
    # answers POST /queue, /interrupt and /free itself. Put outside stock's, it let a foreign page
    # clear the queues, stop renders and unload models on a ComfyUI on the user's machine.
    from multigpu.core.pool import GpuPool
    from multigpu.http.install import install_routes

    from fake_executor import FakeExecutor

    pool = GpuPool(FakeExecutor(2), 2)
    foreign, own = {"Origin": "https://evil.example"}, {"Origin": "http://127.0.0.1"}

    async def main():
        app = web.Application(middlewares=[origin_guard(None)])  # as stock's server builds it
        install_routes(app, pool)
        async with TestClient(TestServer(app, host="127.0.0.1")) as http:
            refused = [(await http.post(path, json=body, headers=foreign)).status for path, body in (
                ("/queue", {"clear": True}), ("/interrupt", {"all": True}), ("/free", {"unload_models": True}))]
            return refused, (await http.post("/free", json={"unload_models": True}, headers=own)).status

    try:
        refused, served = asyncio.run(main())
    finally:
        pool.stop()
    assert refused == [403, 403, 403] and served == 200
