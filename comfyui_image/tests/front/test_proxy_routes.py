"""The front passes every route it does not answer itself to the primary worker (GPU 0's ComfyUI
while it is up), at / and under /api, any method, bodies streamed; its own routes still win.
Against simulated stock workers (sim/stock_worker.py has stand-ins for the user routes)."""
import asyncio
import hashlib

import aiohttp
import pytest
from yarl import URL

from server_process import free_port, http_json
from sim_process import running_sim

GPUS = 2


@pytest.fixture(scope="module")
def front(tmp_path_factory):
    """(front URL, worker URLs); a sampler runs for 10 minutes unless cancelled, so tests that queue
    prompts (test_jobs_routes.py uses this fixture too) see what runs and what waits without timing."""
    ports = [free_port() for _ in range(GPUS)]
    with running_sim(tmp_path_factory.mktemp("front") / "output", gpus=GPUS, exec_ms=600_000, executor="process",
                     extra_args=["--worker-ports", ",".join(map(str, ports))]) as (base, _):
        yield base, [f"http://127.0.0.1:{port}" for port in ports]


def test_a_setting_posted_under_api_reaches_the_primary_worker_and_reads_back_at_both_paths(front):
    base, workers = front
    assert http_json("POST", base + "/api/settings/Comfy.Theme", "dark")[0] == 200
    assert http_json("GET", base + "/api/settings/Comfy.Theme") == (200, "dark")
    assert http_json("GET", base + "/settings/Comfy.Theme") == (200, "dark")
    assert http_json("POST", base + "/settings", {"Comfy.Locale": "fr"})[0] == 200
    assert http_json("GET", base + "/api/settings")[1] == {"Comfy.Theme": "dark", "Comfy.Locale": "fr"}
    # GPU 0's process holds them; GPU 1's never saw a write.
    assert http_json("GET", workers[0] + "/settings")[1] == {"Comfy.Theme": "dark", "Comfy.Locale": "fr"}
    assert http_json("GET", workers[1] + "/settings")[1] == {}


def test_the_index_users_and_the_workers_own_refusals_pass_through(front):
    base, workers = front
    status, page = http_json("GET", base + "/")
    assert status == 200 and b"simulated ComfyUI" in page
    assert http_json("HEAD", base + "/")[0] == 200
    assert http_json("GET", base + "/api/users") == (200, {"storage": "server", "migrated": True})
    # The worker's answers, not the front's: an unknown route is the worker's 404, and a method its
    # route lacks is its 405 (the front has no /users route to refuse it with).
    assert http_json("GET", base + "/api/no/such/route")[0] == 404
    assert http_json("GET", workers[0] + "/api/no/such/route")[0] == 404
    assert http_json("DELETE", base + "/api/users")[0] == 405


def test_a_user_file_in_a_subfolder_keeps_its_encoded_slash_on_the_way_to_the_worker(front):
    base, _ = front
    # The web UI names workflows/a.json as one segment; decoded, the worker's /userdata/{file} would not match.
    url = URL(base + "/api/userdata/workflows%2Fa.json?overwrite=true", encoded=True)

    async def scenario():
        async with aiohttp.ClientSession() as session:
            async with session.post(url, data=b'{"nodes": []}') as posted:
                assert posted.status == 200, await posted.text()
                assert (await posted.json())["path"] == "workflows/a.json"
            async with session.get(URL(base + "/userdata/workflows%2Fa.json", encoded=True)) as read:
                return read.status, await read.read()

    assert asyncio.run(scenario()) == (200, b'{"nodes": []}')


def test_an_upload_larger_than_the_front_would_hold_streams_through_to_the_primary_worker(front):
    base, workers = front
    # The front's client_max_size is 64 MiB (front/app.py): a handler that read the body would answer 413.
    chunk, count = bytes(range(256)) * 4096, 80  # 1 MiB x 80
    digest = hashlib.sha256(chunk * count).hexdigest()

    async def body():
        for _ in range(count):
            yield chunk

    async def scenario():
        async with aiohttp.ClientSession() as session:
            async with session.post(base + "/api/userdata/big.bin", data=body(),
                                    timeout=aiohttp.ClientTimeout(total=300)) as answer:
                return answer.status, await answer.json()

    status, answer = asyncio.run(scenario())
    assert status == 200 and answer == {"path": "big.bin", "size": len(chunk) * count, "sha256": digest}
    assert http_json("GET", workers[1] + "/userdata/big.bin")[0] == 404  # only the primary took it


def test_the_fronts_own_routes_still_answer_and_are_not_the_workers(front):
    base, workers = front
    status, stats = http_json("GET", base + "/api/system_stats")
    assert status == 200 and [d["index"] for d in stats["devices"]] == list(range(GPUS))
    status, queues = http_json("GET", base + "/queue/all")
    assert status == 200 and len(queues["queues"]) == GPUS
    assert http_json("GET", workers[0] + "/queue/all")[0] == 404  # stock has none: the front answered
    assert set(http_json("GET", base + "/api/queue")[1]) >= {"queue_running", "queue_pending"}
    assert http_json("GET", base + "/api/jobs")[0] == 200
    assert http_json("GET", workers[0] + "/api/jobs")[0] == 404
    assert http_json("GET", base + "/healthz")[1]["ok"] is True
    assert http_json("GET", base + "/api/prompt")[0] == 200


def test_a_websocket_other_than_ws_is_refused_not_proxied(front):
    base, _ = front

    async def scenario():
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(base + "/custom_node/socket")
            return refused.value.status

    assert asyncio.run(scenario()) == 501


def test_the_logs_panel_of_a_subscribed_client_gets_the_primary_workers_log_lines(front):
    base, workers = front

    async def scenario():
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(base + "/ws?clientId=viewer") as viewer:
                async with session.patch(base + "/internal/logs/subscribe",
                                         json={"clientId": "viewer", "enabled": True}) as answer:
                    assert answer.status == 200
                # The front subscribes on the worker under its own id, in the background: log a
                # line until the worker has that subscriber, then the line must reach the viewer.
                deadline = asyncio.get_running_loop().time() + 60
                while True:
                    async with session.post(workers[0] + "/sim/log", json={"text": "model loaded"}) as emitted:
                        subscribers = await emitted.json()
                    if subscribers or asyncio.get_running_loop().time() > deadline:
                        break
                    await asyncio.sleep(0.05)
                while True:
                    message = await viewer.receive_json(timeout=30)
                    if message["type"] == "logs":
                        break
            async with session.patch(base + "/internal/logs/subscribe",
                                     json={"clientId": "viewer", "enabled": False}) as answer:
                return subscribers, message["data"]["entries"][0]["m"], answer.status

    assert asyncio.run(scenario()) == (["multigpu-front-logs"], "model loaded\n", 200)
    assert http_json("PATCH", base + "/internal/logs/subscribe", {"enabled": True})[0] == 400
