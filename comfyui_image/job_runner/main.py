"""Start the runner: settings, clients, the health server, SIGTERM/SIGINT handling."""
from __future__ import annotations

import asyncio
import signal
from concurrent.futures import ThreadPoolExecutor

import aiohttp
from aiohttp import web

from .aws import JobQueue, JobStore, OutputStore, make_session_clients
from .context import RunnerContext
from .contract import load_contract
from .health import health_app
from .kube import PodDiscovery
from .log import log
from .runner import Runner, new_client_id
from .scaling_monitor import ScalingMonitor
from .settings import RunnerSettings, settings_from_environment

#: Threads for AWS calls: enough for every job of a large cluster (a few calls each) and the long poll;
#: equal to the clients' connection pools (aws.py), so no call waits for a connection.
AWS_THREADS = 64


async def run_runner(settings: RunnerSettings) -> None:
    contract = load_contract()
    dynamodb, sqs, s3 = make_session_clients(settings.region, AWS_THREADS)
    ctx = RunnerContext(contract=contract, settings=settings, store=JobStore(dynamodb, settings.table_name),
                        queue=JobQueue(sqs, settings.queue_url),
                        outputs=OutputStore(s3, settings.outputs_bucket),
                        client_id=new_client_id(settings.runner_name))
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector) as session:
        runner = Runner(ctx, session, PodDiscovery(session, namespace=settings.namespace,
                                                   selector=settings.pod_selector, port=settings.pod_port,
                                                   static=settings.static_pods))
        loop = asyncio.get_running_loop()
        # boto3 blocks, so each AWS call takes a thread (aws.py); the default pool (CPUs + 4) would queue the
        # calls of a few concurrent jobs behind one another and behind the long poll.
        loop.set_default_executor(ThreadPoolExecutor(max_workers=AWS_THREADS, thread_name_prefix="aws"))
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, runner.stop)
        health = web.AppRunner(health_app(runner), access_log=None)
        await health.setup()
        await web.TCPSite(health, settings.health_host, settings.health_port).start()
        monitor = asyncio.ensure_future(ScalingMonitor(ctx, runner.scaling).run())
        try:
            await runner.run()
        finally:
            monitor.cancel()
            await asyncio.gather(monitor, return_exceptions=True)
            await health.cleanup()


def main() -> int:
    try:
        settings = settings_from_environment(load_contract())
    except (ValueError, RuntimeError) as error:
        log("runner_config_error", error=str(error))
        return 2
    asyncio.run(run_runner(settings))
    return 0
