"""RemoteExecutor and the front against real simulated stock workers on loopback
(python -m multigpu.sim --executor process): placement, relay, uploads, a worker's death."""
import asyncio
import time
import uuid

import aiohttp
import pytest

from server_process import free_port, http_json, wait_history
from sim_process import running_sim, workflow

GPUS = 4


@pytest.fixture(scope="module")
def front(tmp_path_factory):
    """(front URL, worker URLs): probes every 0.5 s, so a restarted worker returns quickly."""
    ports = [free_port() for _ in range(GPUS)]
    with running_sim(tmp_path_factory.mktemp("front") / "output", gpus=GPUS, exec_ms=300,
                     executor="process",
                     extra_args=["--worker-ports", ",".join(map(str, ports)),
                                 "--breaker-probe-s", "0.5"]) as (base, _):
        yield base, [f"http://127.0.0.1:{port}" for port in ports]


def submit(base, gpu=None, client="t", **kw):
    headers = {"X-TARGET-GPU": str(gpu)} if gpu is not None else {}
    status, body = http_json("POST", base + "/prompt", {"prompt": workflow(**kw), "client_id": client}, headers)
    assert status == 200, body
    return body


def wait_until(check, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} not within {timeout:g} s")


def test_each_prompt_runs_in_the_worker_process_of_the_gpu_the_pool_chose(front):
    base, workers = front
    placed = [submit(base, gpu=g % GPUS, seed=g) for g in range(GPUS)] + [submit(base) for _ in range(4)]
    for body in placed:
        gpu = wait_history(base, body["prompt_id"], timeout=30)["gpu_id"]
        assert gpu == body["gpu_id"]
        assert body["prompt_id"] in http_json("GET", workers[gpu] + "/sim/executed")[1]
        # Harvested: the worker keeps no history of its own.
        assert http_json("GET", f"{workers[gpu]}/history/{body['prompt_id']}")[1] == {}


async def collect(base, client_id, gpu, **kw):
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{base}/ws?clientId={client_id}") as socket:
            await socket.receive_json(timeout=10)
            body = {"prompt": workflow(**kw), "client_id": client_id}
            async with session.post(f"{base}/prompt", json=body, headers={"X-TARGET-GPU": str(gpu)}) as answer:
                prompt_id = (await answer.json())["prompt_id"]
            messages = []
            while True:
                message = await socket.receive_json(timeout=30)
                messages.append(message)
                if message["type"] == "executing" and message["data"] == {"node": None, "prompt_id": prompt_id}:
                    return prompt_id, messages


def test_worker_messages_reach_only_the_submitting_client_and_end_once(front):
    base, _ = front

    async def scenario():
        return await asyncio.gather(collect(base, "alice", 0, steps=4), collect(base, "bob", 2, steps=4))

    for prompt_id, messages in asyncio.run(scenario()):
        own = [m for m in messages if m["type"] != "status"]
        assert {m["data"]["prompt_id"] for m in own} == {prompt_id}
        assert [m["data"]["value"] for m in own if m["type"] == "progress"] == [1, 2, 3, 4]
        assert [m["type"] for m in own].count("execution_success") == 1
        assert sum(1 for m in own if m["type"] == "executing" and m["data"]["node"] is None) == 1
        images = [m["data"]["output"]["images"] for m in own if m["type"] == "executed"]
        assert images and images[0][0]["type"] == "output"


def test_uploads_land_in_the_shared_input_folder_and_view_serves_them(front):
    base, _ = front

    async def scenario():
        async with aiohttp.ClientSession() as session:
            names = []
            for _ in range(2):
                form = aiohttp.FormData()
                form.add_field("image", b"\x89PNG\r\n\x1a\nfake", filename="mask.png", content_type="image/png")
                async with session.post(base + "/upload/image", data=form) as answer:
                    assert answer.status == 200
                    names.append((await answer.json())["name"])
            async with session.get(base + "/view", params={"filename": names[1], "type": "input"}) as view:
                return names, view.status, await view.read()

    names, status, data = asyncio.run(scenario())
    assert names == ["mask.png", "mask (1).png"]
    assert status == 200 and data == b"\x89PNG\r\n\x1a\nfake"
    status, info = http_json("GET", base + "/object_info/SaveImage")
    assert status == 200 and info["SaveImage"]["output_node"] is True


def test_a_client_prompt_id_must_be_a_uuid_as_a_v0_33_worker_requires(front):
    base, _ = front
    status, body = http_json("POST", base + "/prompt", {"prompt": workflow(), "prompt_id": "job-123"})
    assert status == 400 and body["error"]["type"] == "invalid_prompt_id"
    prompt_id = str(uuid.uuid4())
    status, body = http_json("POST", base + "/prompt", {"prompt": workflow(), "prompt_id": prompt_id})
    assert status == 200 and wait_history(base, prompt_id, timeout=30)["status"]["completed"] is True


def test_a_worker_that_dies_fails_its_prompt_naming_the_exit_and_its_gpu_leaves_service_then_returns(front):
    base, _ = front
    others = [submit(base, gpu=g, steps=10, seed=g) for g in (0, 2, 3)]

    async def crash():
        return await collect(base, "victim", 1, crash=True)

    prompt_id, messages = asyncio.run(crash())
    exit_text = "ComfyUI for GPU 1 exited with signal 9 (SIGKILL: out of memory?)"
    errors = [m["data"] for m in messages if m["type"] == "execution_error"]
    assert [e["exception_message"] for e in errors] == [exit_text]
    entry = wait_history(base, prompt_id, timeout=30)
    assert entry["status"]["status_str"] == "error" and entry["gpu_id"] == 1
    queues = http_json("GET", base + "/queue/all")[1]["queues"]
    assert queues[1]["state"] == "broken" and queues[1]["last_gpu_fault"] == exit_text
    # The others keep running (that unpinned prompts avoid a broken GPU: tests/e2e/test_sim_breaker.py).
    assert [wait_history(base, b["prompt_id"], timeout=30)["status"]["completed"] for b in others] == [True] * 3
    # The supervisor restarts the worker; the breaker's probe brings the GPU back.
    wait_until(lambda: http_json("GET", base + "/queue/all")[1]["queues"][1]["state"] == "in_service",
               "GPU 1 back in service")
    body = submit(base, gpu=1)
    assert wait_history(base, body["prompt_id"], timeout=30)["status"]["completed"] is True
    metrics = http_json("GET", base + "/metrics")[1].decode()
    assert 'comfyui_worker_restarts_total{gpu="1",reason="signal_9"} 1.0' in metrics
    assert 'comfyui_worker_up{gpu="1"} 1.0' in metrics
    assert 'comfyui_executor_info{comfyui_version="simulator",mode="process"} 1.0' in metrics
    assert all(f'comfyui_worker_memory_bytes{{gpu="{g}",kind="pss"}}' in metrics for g in range(GPUS))


def test_a_clients_partial_execution_targets_choose_the_outputs_the_prompt_runs(front):
    base, _ = front
    prompt = workflow()
    prompt["10"] = dict(prompt["9"])  # a second output node
    status, body = http_json("POST", base + "/prompt", {"prompt": prompt, "partial_execution_targets": ["10"]})
    assert status == 200, body
    assert wait_history(base, body["prompt_id"], timeout=30)["prompt"][4] == ["10"]
