"""GET /system_stats lists every GPU, keeping the rest of ComfyUI's answer."""
import asyncio

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from multigpu.core.pool import GpuPool
from multigpu.http.install import install_routes

from fake_executor import FakeExecutor

STOCK = {"system": {"os": "posix", "comfyui_version": "0.8.0"},
         "devices": [{"name": "cuda:0", "type": "cuda", "index": 0}]}


def system_stats(pool):
    async def stock_handler(request):  # ComfyUI's: the HTTP thread's device only
        return web.json_response(STOCK)

    async def main():
        app = web.Application()
        app.router.add_get("/api/system_stats", stock_handler)
        install_routes(app, pool)
        async with TestClient(TestServer(app)) as http:
            answer = await http.get("/api/system_stats")
            return answer.status, await answer.json()

    return asyncio.run(main())


def test_every_gpu_is_listed_and_the_system_section_is_comfyuis():
    devices = [{"name": f"cuda:{g}", "type": "cuda", "index": g, "gpu_id": g} for g in range(4)]
    status, body = system_stats(GpuPool(FakeExecutor(4), 4, system_devices=lambda: devices))
    assert status == 200
    assert body == {"system": STOCK["system"], "devices": devices}


def test_without_a_device_list_or_when_it_fails_the_stock_answer_stands():
    assert system_stats(GpuPool(FakeExecutor(2), 2))[1] == STOCK

    def broken():
        raise RuntimeError("CUDA error: unknown error")

    assert system_stats(GpuPool(FakeExecutor(2), 2, system_devices=broken))[1] == STOCK
