"""Binary preview frames reach the submitting client: type 4 (with the prompt id) when it asked
for metadata, type 1 otherwise; in both executor modes."""
import asyncio
import json
import struct

import aiohttp
import pytest

from sim_process import EXECUTORS, running_sim, workflow


async def previews_seen(base, client_id, wants_metadata):
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{base}/ws?clientId={client_id}") as socket:
            await socket.receive_json(timeout=10)
            if wants_metadata:  # as the web UI; the server's answer shows it read them
                await socket.send_json({"type": "feature_flags", "data": {"supports_preview_metadata": True}})
                assert (await socket.receive_json(timeout=10))["type"] == "feature_flags"
            async with session.post(f"{base}/prompt", json={"prompt": workflow(steps=3), "client_id": client_id},
                                    headers={"X-TARGET-GPU": "0" if wants_metadata else "1"}) as answer:
                prompt_id = (await answer.json())["prompt_id"]
            frames = []
            while True:
                message = await socket.receive(timeout=30)
                if message.type == aiohttp.WSMsgType.BINARY:
                    frames.append(message.data)
                elif json.loads(message.data) == {"type": "executing", "data": {"node": None, "prompt_id": prompt_id}}:
                    return prompt_id, frames


@pytest.mark.parametrize("mode", EXECUTORS)
def test_previews_reach_the_submitting_client_in_the_format_it_asked_for(tmp_path, mode):
    with running_sim(tmp_path / "out", gpus=2, exec_ms=300, executor=mode,
                     extra_args=["--previews", "2"]) as (base, _):
        async def scenario():
            return await asyncio.gather(previews_seen(base, "modern", True), previews_seen(base, "legacy", False))

        (modern_id, modern), (_, legacy) = asyncio.run(scenario())
    assert [struct.unpack(">I", f[:4])[0] for f in modern] == [4, 4]
    length = struct.unpack(">I", modern[0][4:8])[0]
    assert json.loads(modern[0][8:8 + length])["prompt_id"] == modern_id
    assert [struct.unpack(">II", f[:8]) for f in legacy] == [(1, 2), (1, 2)]
    assert all(f[8:16] == b"\x89PNG\r\n\x1a\n" for f in legacy)
