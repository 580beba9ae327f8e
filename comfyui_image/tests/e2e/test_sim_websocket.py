"""WebSocket messages reach the client that submitted the prompt, with its prompt_id, while
prompts run on several GPUs at once."""
import asyncio

import aiohttp

from sim_process import workflow


async def run_client(base, client_id, gpu, n_prompts, steps=3, oom_times=0):
    """Connect, submit n prompts pinned to `gpu`, collect messages until all completed."""
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{base}/ws?clientId={client_id}") as socket:
            first = await socket.receive_json(timeout=5)
            ids = []
            for i in range(n_prompts):
                body = {"prompt": workflow(seed=i, steps=steps, oom_times=oom_times),
                        "client_id": client_id}
                async with session.post(f"{base}/prompt", json=body,
                                        headers={"X-TARGET-GPU": str(gpu)}) as response:
                    ids.append((await response.json())["prompt_id"])
            messages, done = [], set()
            while done != set(ids):
                message = await socket.receive_json(timeout=15)
                messages.append(message)
                data = message["data"]
                if message["type"] == "executing" and data.get("node") is None:
                    done.add(data["prompt_id"])
            return first, ids, messages


def test_each_client_gets_only_its_own_prompts_messages(sim):
    base, _ = sim

    async def scenario():
        return await asyncio.gather(*(run_client(base, f"client-{g}", g, 2) for g in range(4)))

    results = asyncio.run(scenario())
    for first, ids, messages in results:
        assert first["type"] == "status"
        prompt_messages = [m for m in messages if m["type"] != "status"]
        assert {m["data"]["prompt_id"] for m in prompt_messages} == set(ids)
        kinds = {m["type"] for m in prompt_messages}
        assert {"execution_start", "executing", "progress", "executed", "execution_success"} <= kinds
        # Per prompt: executed (with the image) comes before the final executing-None.
        for prompt_id in ids:
            own = [m for m in prompt_messages if m["data"]["prompt_id"] == prompt_id]
            assert own[-1] == {"type": "executing", "data": {"node": None, "prompt_id": prompt_id}}
            assert any(m["type"] == "executed" and m["data"]["output"]["images"] for m in own)


def test_status_messages_report_the_total_queue_across_gpus(sim):
    base, _ = sim

    async def scenario():
        return await asyncio.gather(*(run_client(base, f"status-{g}", g, 2) for g in range(4)))

    results = asyncio.run(scenario())
    remaining = [m["data"]["status"]["exec_info"]["queue_remaining"]
                 for _, _, messages in results for m in messages if m["type"] == "status"]
    # 8 prompts on 4 GPUs: some status message saw more than any single GPU's 2.
    assert max(remaining) > 2
    assert min(remaining) == 0


def test_an_oom_retried_successfully_never_shows_an_error_to_the_client(sim):
    base, _ = sim
    _, ids, messages = asyncio.run(run_client(base, "oom-once", 1, 1, oom_times=1))
    kinds = [m["type"] for m in messages]
    assert "execution_error" not in kinds and "execution_success" in kinds


def test_a_second_oom_is_reported_once(sim):
    base, _ = sim
    _, ids, messages = asyncio.run(run_client(base, "oom-twice", 2, 1, oom_times=2))
    errors = [m for m in messages if m["type"] == "execution_error"]
    assert len(errors) == 1
    assert errors[0]["data"]["exception_type"] == "torch.OutOfMemoryError"
    assert errors[0]["data"]["prompt_id"] == ids[0]
