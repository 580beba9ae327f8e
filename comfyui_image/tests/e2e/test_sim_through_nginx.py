"""Per-GPU ports through real nginx in front of the simulator: port 818x pins GPU x."""
import asyncio
import urllib.request

import aiohttp

from sim_process import http_json, workflow
from tests.nginx.nginx_runner import nginx_or_skip, running_nginx


def test_each_nginx_port_pins_its_gpu_for_prompts_and_queue_reads(sim):
    base, _ = sim
    upstream_port = int(base.rsplit(":", 1)[1])
    with running_nginx(4, upstream_port, nginx_bin=nginx_or_skip()) as ports:
        for gpu, port in enumerate(ports):
            # A client header is overridden by the port's own.
            status, body = http_json("POST", f"http://127.0.0.1:{port}/prompt",
                                     {"prompt": workflow(steps=10), "client_id": "nginx"},
                                     {"X-TARGET-GPU": "0" if gpu else "3"})
            assert status == 200 and body["gpu_id"] == gpu
            status, queue = http_json("GET", f"http://127.0.0.1:{port}/queue")
            assert queue["gpu_id"] == gpu
            ids = [item[1] for item in queue["queue_running"] + queue["queue_pending"]]
            assert body["prompt_id"] in ids


def test_the_web_socket_and_view_work_through_a_gpu_port(sim):
    base, _ = sim
    upstream_port = int(base.rsplit(":", 1)[1])
    with running_nginx(4, upstream_port, nginx_bin=nginx_or_skip()) as ports:
        via = f"http://127.0.0.1:{ports[2]}"

        async def scenario():
            async with aiohttp.ClientSession() as session:
                async with session.ws_connect(f"{via}/ws?clientId=through-nginx") as socket:
                    await socket.receive_json(timeout=5)
                    async with session.post(f"{via}/prompt", json={
                            "prompt": workflow(prefix="nginx"), "client_id": "through-nginx"}) as r:
                        prompt_id = (await r.json())["prompt_id"]
                    while True:
                        message = await socket.receive_json(timeout=15)
                        data = message["data"]
                        if message["type"] == "executed":
                            image = data["output"]["images"][0]
                        if message["type"] == "executing" and data.get("node") is None:
                            return prompt_id, image

        prompt_id, image = asyncio.run(scenario())
        assert http_json("GET", f"{via}/history/{prompt_id}")[1][prompt_id]["gpu_id"] == 2
        with urllib.request.urlopen(f"{via}/view?filename={image['filename']}&type=output",
                                    timeout=5) as response:
            assert response.read(4) == b"\x89PNG"
