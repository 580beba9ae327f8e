"""Pod discovery against an HTTPS stand-in for the Kubernetes API on 127.0.0.1: the service account's token
and CA, the label selector, and only ready pods that are not terminating."""
import asyncio
import contextlib
import ssl
import subprocess

import aiohttp
import pytest
from aiohttp import web

from job_runner.kube import PodDiscovery
from job_runner.settings import StaticPod

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


@contextlib.asynccontextmanager
async def api_stand_in(account, routes):
    """An HTTPS stand-in for the Kubernetes API on 127.0.0.1 with the account's certificate, and a PodDiscovery
    pointed at it with the account's token and CA."""
    app = web.Application()
    app.add_routes(routes)
    server = web.AppRunner(app, access_log=None)
    await server.setup()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(account / "ca.crt", account / "key.pem")
    site = web.TCPSite(server, "127.0.0.1", 0, ssl_context=tls)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        async with aiohttp.ClientSession() as session:
            yield PodDiscovery(session, namespace="comfyui", selector="app.kubernetes.io/name=comfyui", port=8188,
                               service_account=str(account),
                               environ={"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(port)})
    finally:
        await server.cleanup()


def test_discovery_lists_ready_pods_with_the_service_account_token_and_ca(account):
    seen = []

    async def pods(request):
        seen.append((request.match_info["ns"], request.query.get("labelSelector"),
                     request.headers.get("Authorization")))
        return web.json_response(POD_LIST)

    async def scenario():
        async with api_stand_in(account, [web.get("/api/v1/namespaces/{ns}/pods", pods)]) as discovery:
            return await discovery.list()

    found = asyncio.run(scenario())
    assert [(p.name, p.base_url) for p in found] == [("comfyui-b", "http://10.0.0.2:8188")]
    assert seen == [("comfyui", "app.kubernetes.io/name=comfyui", "Bearer sa-token")]


def test_discovery_outside_a_cluster_names_the_fix():
    async def scenario():
        async with aiohttp.ClientSession() as session:
            await PodDiscovery(session, namespace="n", selector="s", port=1, environ={}).list()

    with pytest.raises(RuntimeError, match="set COMFYUI_PODS"):
        asyncio.run(scenario())


def test_the_deletion_cost_is_one_merge_patch_of_the_one_annotation_and_a_refusal_names_it(account):
    seen = []

    async def patch(request):
        seen.append((request.match_info["ns"], request.match_info["name"], request.content_type,
                     await request.json(), request.headers.get("Authorization")))
        if request.match_info["name"] == "other":
            return web.json_response({"message": "denied by ValidatingAdmissionPolicy"}, status=422)
        return web.json_response({"metadata": {"name": request.match_info["name"]}})

    async def scenario():
        async with api_stand_in(account, [web.patch("/api/v1/namespaces/{ns}/pods/{name}", patch)]) as discovery:
            assert discovery.in_cluster
            await discovery.set_deletion_cost("comfyui-b", 2003)
            with pytest.raises(RuntimeError, match="pod-deletion-cost of pod other answered 422"):
                await discovery.set_deletion_cost("other", 0)

    asyncio.run(scenario())
    assert seen[0] == ("comfyui", "comfyui-b", "application/merge-patch+json",
                       {"metadata": {"annotations": {"controller.kubernetes.io/pod-deletion-cost": "2003"}}},
                       "Bearer sa-token")


def test_static_pods_have_no_api_to_patch():
    async def scenario():
        async with aiohttp.ClientSession() as session:
            discovery = PodDiscovery(session, namespace="n", selector="s", port=1,
                                     static=[StaticPod("pod-a", "http://127.0.0.1:1")], environ={})
            assert not discovery.in_cluster
            await discovery.set_deletion_cost("pod-a", 1000)  # nothing to reach, nothing raised

    asyncio.run(scenario())
