"""Pod discovery: the Kubernetes API with the pod's service account (in cluster), or COMFYUI_PODS (tests and
local runs). https://kubernetes.io/docs/tasks/run-application/access-api-from-pod/"""
from __future__ import annotations

import os
import ssl
import urllib.parse
from typing import List, Optional, Sequence

import aiohttp

from .pods import Pod, ready_pods
from .settings import StaticPod

SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


class PodDiscovery:
    def __init__(self, session: aiohttp.ClientSession, *, namespace: str, selector: str, port: int,
                 static: Optional[Sequence[StaticPod]] = None, service_account: str = SERVICE_ACCOUNT,
                 environ=os.environ) -> None:
        self._session, self._namespace, self._selector, self._port = session, namespace, selector, port
        self._account, self._environ = service_account, environ
        self._static = [Pod(p.name, p.base_url) for p in static] if static is not None else None
        self._ssl: Optional[ssl.SSLContext] = None

    async def list(self) -> List[Pod]:
        if self._static is not None:
            return list(self._static)
        host, port = self._environ.get("KUBERNETES_SERVICE_HOST"), self._environ.get("KUBERNETES_SERVICE_PORT")
        if not host or not port:
            raise RuntimeError("KUBERNETES_SERVICE_HOST/PORT are not set: run in a cluster, or set COMFYUI_PODS")
        if self._ssl is None:
            self._ssl = ssl.create_default_context(cafile=f"{self._account}/ca.crt")
        # The token is re-read each time: the kubelet rotates projected tokens.
        with open(f"{self._account}/token") as handle:
            token = handle.read().strip()
        host = f"[{host}]" if ":" in host else host
        query = urllib.parse.urlencode({"labelSelector": self._selector})
        url = f"https://{host}:{port}/api/v1/namespaces/{self._namespace}/pods?{query}"
        async with self._session.get(url, ssl=self._ssl, headers={"Authorization": f"Bearer {token}"},
                                     timeout=aiohttp.ClientTimeout(total=10)) as response:
            if response.status != 200:
                raise RuntimeError(f"listing pods answered {response.status}: {(await response.text())[:300]}")
            return ready_pods(await response.json(), self._port)
