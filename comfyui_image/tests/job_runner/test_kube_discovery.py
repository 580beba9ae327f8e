"""Pod discovery against an HTTPS stand-in for the Kubernetes API on 127.0.0.1: the service account's token
and CA, the label selector, and only ready pods that are not terminating."""
import asyncio
import ssl
import subprocess

import aiohttp
import pytest
from aiohttp import web

from job_runner.kube import PodDiscovery

POD_LIST = {"items": [
    {"metadata": {"name": "comfyui-b"}, "status": {"podIP": "10.0.0.2", "conditions": [{"type": "Ready", "status": "True"}]}},
    {"metadata": {"name": "comfyui-a", "deletionTimestamp": "2026-11-30T00:00:00Z"},
     "status": {"podIP": "10.0.0.1", "conditions": [{"type": "Ready", "status": "True"}]}},
]}


@pytest.fixture
def account(tmp_path):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(tmp_path / "key.pem"),
                    "-out", str(tmp_path / "ca.crt")], check=True, capture_output=True)
    (tmp_path / "token").write_text("sa-token\n")
    return tmp_path


def test_discovery_lists_ready_pods_with_the_service_account_token_and_ca(account):
    seen = []

    async def pods(request):
        seen.append((request.match_info["ns"], request.query.get("labelSelector"),
                     request.headers.get("Authorization")))
        return web.json_response(POD_LIST)

    async def scenario():
        app = web.Application()
        app.router.add_get("/api/v1/namespaces/{ns}/pods", pods)
        server = web.AppRunner(app, access_log=None)
        await server.setup()
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(account / "ca.crt", account / "key.pem")
        site = web.TCPSite(server, "127.0.0.1", 0, ssl_context=tls)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        try:
            async with aiohttp.ClientSession() as session:
                discovery = PodDiscovery(session, namespace="comfyui", selector="app.kubernetes.io/name=comfyui",
                                         port=8188, service_account=str(account),
                                         environ={"KUBERNETES_SERVICE_HOST": "127.0.0.1",
                                                  "KUBERNETES_SERVICE_PORT": str(port)})
                return await discovery.list()
        finally:
            await server.cleanup()

    found = asyncio.run(scenario())
    assert [(p.name, p.base_url) for p in found] == [("comfyui-b", "http://10.0.0.2:8188")]
    assert seen == [("comfyui", "app.kubernetes.io/name=comfyui", "Bearer sa-token")]


def test_discovery_outside_a_cluster_names_the_fix():
    async def scenario():
        async with aiohttp.ClientSession() as session:
            await PodDiscovery(session, namespace="n", selector="s", port=1, environ={}).list()

    with pytest.raises(RuntimeError, match="set COMFYUI_PODS"):
        asyncio.run(scenario())
