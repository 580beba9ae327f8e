"""The per-GPU nginx config: the renderer's output, then a real nginx in front of an echo server on 127.0.0.1."""
import asyncio
import json
import re
import threading
import urllib.request

import aiohttp
import pytest
from aiohttp import web

from multigpu import nginx_config
from multigpu.nginx_config import PROXY_TIMEOUT_SECONDS, TARGET_GPU_HEADER, gpu_ports, render_nginx_config
from tests.nginx.nginx_runner import check_nginx_config, nginx_or_skip, running_nginx

REQUEST_TIMEOUT_S = 10


def server_blocks(conf: str):
    return re.findall(r"    server \{\n(.*?)\n    \}", conf, re.S)


# ---- the renderer ----------------------------------------------------------------------------------------------

def test_each_gpu_gets_the_next_port_and_its_own_pinned_header():
    blocks = server_blocks(render_nginx_config(3, first_port=9001, listen_address="10.0.0.5"))
    listens = [re.search(r"listen (\S+);", b).group(1) for b in blocks]
    assert listens == ["10.0.0.5:9001", "10.0.0.5:9002", "10.0.0.5:9003"]
    assert [re.findall(rf"proxy_set_header {TARGET_GPU_HEADER} (\S+);", b) for b in blocks] == [["0"], ["1"], ["2"]]
    assert gpu_ports(3, 9001) == [9001, 9002, 9003]


def test_every_server_sets_all_its_headers_itself_so_none_are_lost_to_inheritance():
    conf = render_nginx_config(2)
    for block in server_blocks(conf):
        assert "proxy_pass http://comfyui;" in block
        assert "proxy_set_header Upgrade $http_upgrade;" in block
        assert "proxy_set_header Connection $connection_upgrade;" in block
        assert "proxy_set_header Host $http_host;" in block
    # proxy_set_header outside a server would be silently dropped there, so it must appear only inside them.
    assert conf.count("proxy_set_header") == sum(b.count("proxy_set_header") for b in server_blocks(conf))


def test_the_upstream_websockets_timeouts_and_uploads_are_configured():
    conf = render_nginx_config(1, upstream="127.0.0.1:8288")
    assert "server 127.0.0.1:8288;" in conf
    assert re.search(r"map \$http_upgrade \$connection_upgrade \{\s*default upgrade;\s*''\s*close;\s*\}", conf)
    assert "proxy_http_version 1.1;" in conf
    assert int(re.search(r"proxy_read_timeout (\d+)s;", conf).group(1)) == PROXY_TIMEOUT_SECONDS >= 900
    assert "client_max_body_size 0;" in conf
    assert "proxy_buffering off;" in conf and "proxy_request_buffering off;" in conf
    assert "mime.types" not in conf and "\nuser " not in conf


def test_pid_and_temp_files_go_under_the_temp_dir_and_logs_go_to_stderr():
    conf = render_nginx_config(1, temp_dir="/run/nginx/")
    assert "pid /run/nginx/nginx.pid;" in conf
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        assert f"{kind}_temp_path /run/nginx/{kind};" in conf
    assert "error_log stderr warn;" in conf and "access_log off;" in conf
    assert "daemon" not in conf  # the caller passes -g 'daemon off;'
    assert "pid /var/nginx.pid;" in render_nginx_config(1, pid_path="/var/nginx.pid")
    assert "access_log /dev/stdout;" in render_nginx_config(1, access_log=True)


@pytest.mark.parametrize("kwargs, message", [
    ({"num_gpus": 0}, "number of GPUs must be 1..16, got 0"),
    ({"num_gpus": 17}, "number of GPUs must be 1..16, got 17"),
    ({"num_gpus": True}, "number of GPUs must be 1..16, got True"),
    ({"num_gpus": 4, "upstream": "comfyui"}, "upstream must be HOST:PORT.*got 'comfyui'"),
    ({"num_gpus": 4, "upstream": "127.0.0.1:70000"}, "upstream must be HOST:PORT"),
    ({"num_gpus": 4, "first_port": 80}, r"GPU ports must be 1024..65535 \(nginx runs as non-root\), got 80..83"),
    ({"num_gpus": 4, "first_port": 65534}, "got 65534..65537"),
    ({"num_gpus": 8, "first_port": 8185}, "GPU ports 8185..8192 include the upstream port 8188; choose a first port"),
    ({"num_gpus": 1, "listen_address": "0.0.0.0; evil"}, "listen address must be"),
    ({"num_gpus": 1, "temp_dir": "/tmp/a b"}, "temp dir may hold only"),
    ({"num_gpus": 1, "pid_path": "/tmp/x;"}, "pid path may hold only"),
])
def test_invalid_inputs_are_refused_with_a_message_naming_them(kwargs, message):
    num_gpus = kwargs.pop("num_gpus")
    with pytest.raises(ValueError, match=message):
        render_nginx_config(num_gpus, **kwargs)


def test_ipv6_addresses_are_accepted():
    conf = render_nginx_config(1, upstream="[::1]:8188", listen_address="[::]")
    assert "listen [::]:8181;" in conf and "server [::1]:8188;" in conf


def test_the_command_line_prints_the_config_and_rejects_bad_input(capsys):
    assert nginx_config.main(["--gpus", "2", "--listen", "127.0.0.1"]) == 0
    assert capsys.readouterr().out == render_nginx_config(2, listen_address="127.0.0.1")
    with pytest.raises(SystemExit) as exit_info:
        nginx_config.main(["--gpus", "40"])
    assert exit_info.value.code == 2
    assert "number of GPUs must be 1..16, got 40" in capsys.readouterr().err


# ---- real nginx in front of an echo server ---------------------------------------------------------------------

async def echo_headers(request: web.Request) -> web.Response:
    body = await request.read()
    return web.json_response({"target_gpu": request.headers.getall(TARGET_GPU_HEADER, []), "body_bytes": len(body)})


async def echo_websocket(request: web.Request) -> web.WebSocketResponse:
    socket = web.WebSocketResponse()
    await socket.prepare(request)
    await socket.send_json({"target_gpu": request.headers.getall(TARGET_GPU_HEADER, [])})
    async for message in socket:
        await socket.send_str(message.data)
    return socket


@pytest.fixture(scope="module")
def backend_port():
    """The echo server on 127.0.0.1, in its own thread and event loop, stopped when the module's tests end."""
    loop = asyncio.new_event_loop()
    app = web.Application(client_max_size=0)
    app.router.add_get("/ws", echo_websocket)
    app.router.add_route("*", "/{tail:.*}", echo_headers)
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = site._server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield port
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=REQUEST_TIMEOUT_S)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=REQUEST_TIMEOUT_S)
    loop.close()


@pytest.fixture(scope="module")
def gpu_port_list(backend_port):
    with running_nginx(3, backend_port, nginx_bin=nginx_or_skip()) as ports:
        yield ports


def fetch_json(port: int, path: str = "/queue", headers=None, data=None) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {}, data=data)
    with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
        return json.load(response)


def test_real_nginx_accepts_the_rendered_config_for_every_gpu_count():
    nginx_bin = nginx_or_skip()
    for num_gpus in (1, 16):
        # 16 ports from 8181 would reach ComfyUI's 8188, so the larger config starts elsewhere.
        result = check_nginx_config(render_nginx_config(num_gpus, first_port=9001, temp_dir="."), nginx_bin)
        assert result.returncode == 0, result.stderr


def test_each_port_pins_its_gpu_even_when_the_client_sends_another(gpu_port_list):
    for gpu, port in enumerate(gpu_port_list):
        assert fetch_json(port)["target_gpu"] == [str(gpu)]
        assert fetch_json(port, headers={"X-Target-GPU": "7"})["target_gpu"] == [str(gpu)]
        assert fetch_json(port, headers={"x-target-gpu": "0, 7"})["target_gpu"] == [str(gpu)]


def test_an_upload_larger_than_nginx_default_limit_reaches_comfyui(gpu_port_list):
    upload = b"\0" * (5 * 1024 * 1024)  # nginx's own default limit is 1 MB
    reply = fetch_json(gpu_port_list[1], "/upload/image", data=upload, headers={"Content-Type": "image/png"})
    assert reply == {"target_gpu": ["1"], "body_bytes": len(upload)}


def test_a_websocket_passes_through_nginx_with_the_pinned_gpu(gpu_port_list):
    async def talk(port: int):
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.ws_connect(f"ws://127.0.0.1:{port}/ws", headers={TARGET_GPU_HEADER: "5"}) as ws:
                hello = await ws.receive_json()
                await ws.send_str("ping through nginx")
                return hello, await ws.receive_str()

    hello, echoed = asyncio.run(asyncio.wait_for(talk(gpu_port_list[2]), REQUEST_TIMEOUT_S))
    assert hello == {"target_gpu": ["2"]}
    assert echoed == "ping through nginx"
