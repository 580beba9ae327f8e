"""http/worker_link.py HttpWorkerLink against a real aiohttp server on loopback: its calls come from
a GPU's thread while the link's event loop runs in another, as in the front."""
import asyncio
import threading

import aiohttp
import pytest
from aiohttp import web

from multigpu.http import worker_link
from multigpu.http.worker_link import HttpWorkerLink, WorkerUnavailable


@pytest.fixture
def slow_worker():
    """(link to a worker whose POST /prompt never answers, its requests); the loop runs in a thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    stalled = []

    async def never_answers(request):
        stalled.append(request.path)
        await asyncio.sleep(3600)

    async def queue(request):
        stalled.append((request.path, await request.json()))
        return web.Response(status=200)

    async def start():
        app = web.Application()
        app.router.add_post("/prompt", never_answers)
        app.router.add_post("/queue", queue)
        runner = web.AppRunner(app, handler_cancellation=True)  # ends the sleep when the link hangs up
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        session = aiohttp.ClientSession()
        link = HttpWorkerLink(0, f"http://127.0.0.1:{port}", on_message=lambda gpu, event, data: None)
        link._loop, link._session = asyncio.get_running_loop(), session  # calls only, no socket reader
        return runner, session, link

    runner, session, link = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    yield link, stalled
    asyncio.run_coroutine_threadsafe(session.close(), loop).result(10)
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def test_a_call_the_worker_does_not_answer_in_time_fails_naming_the_worker_the_call_and_the_limit(
        slow_worker, monkeypatch):
    link, stalled = slow_worker
    monkeypatch.setattr(worker_link, "REQUEST_TIMEOUT_S", 0.3)
    with pytest.raises(WorkerUnavailable) as failed:
        link.post_prompt({"prompt": {}})
    assert str(failed.value) == "ComfyUI for GPU 0: POST /prompt did not answer within 0.3 s"
    assert stalled == ["/prompt"]


def test_a_prompt_is_dropped_from_the_workers_queue_with_stocks_delete_call(slow_worker):
    link, requests = slow_worker
    link.delete_queued("p1")
    assert requests == [("/queue", {"delete": ["p1"]})]
