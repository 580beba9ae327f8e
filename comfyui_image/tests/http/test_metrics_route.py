"""GET /metrics over HTTP (in-process aiohttp server): collecting must not hold the event loop, which
in process mode relays every worker's messages (a collector reads each worker's smaps_rollup)."""
import asyncio
import time

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.core import GaugeMetricFamily

from multigpu.core.pool import GpuPool
from multigpu.http.install import install_routes

from fake_executor import FakeExecutor

COLLECT_S = 0.5


class SlowCollector:
    """As a read of a large process' /proc/<pid>/smaps_rollup can be: the kernel walks its mappings."""

    def collect(self):
        time.sleep(COLLECT_S)
        yield GaugeMetricFamily("slow_gauge", "Collected slowly.", value=1)


def test_the_event_loop_keeps_serving_while_the_metrics_are_collected():
    pool = GpuPool(FakeExecutor(1), 1)
    pool.metrics.registry.register(SlowCollector())

    async def main():
        app = web.Application()
        install_routes(app, pool)
        async with TestClient(TestServer(app)) as http:
            scrape = asyncio.ensure_future(http.get("/metrics"))
            worst_lag, loop = 0.0, asyncio.get_running_loop()
            while not scrape.done():
                before = loop.time()
                await asyncio.sleep(0.01)
                worst_lag = max(worst_lag, loop.time() - before - 0.01)
            text = await (await scrape).text()
            return worst_lag, text

    worst_lag, text = asyncio.run(main())
    assert "slow_gauge 1.0" in text
    assert worst_lag < COLLECT_S / 2
