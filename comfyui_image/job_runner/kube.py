"""Pod discovery: the Kubernetes API with the pod's service account (in cluster), or COMFYUI_PODS (tests and
local runs). https://kubernetes.io/docs/tasks/run-application/access-api-from-pod/"""
from __future__ import annotations

import json
import os
import ssl
import urllib.parse
from typing import List, Optional, Sequence, Tuple

import aiohttp

from .deletion_cost import ANNOTATION
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

    @property
    def in_cluster(self) -> bool:
        return self._static is None

    async def list(self) -> List[Pod]:
        if self._static is not None:
            return list(self._static)
        url, headers, tls = self._api("pods?" + urllib.parse.urlencode({"labelSelector": self._selector}))
        async with self._session.get(url, ssl=tls, headers=headers,
                                     timeout=aiohttp.ClientTimeout(total=10)) as response:
            if response.status != 200:
                raise RuntimeError(f"listing pods answered {response.status}: {(await response.text())[:300]}")
            return ready_pods(await response.json(), self._port)

    async def set_deletion_cost(self, pod: str, cost: int) -> None:
        """A JSON merge patch of the one annotation (RFC 7386); the Role allows `patch` on pods and the
        admission policy in job-runner.yaml only this annotation on ComfyUI pods. RuntimeError when refused."""
        if self._static is not None:
            return  # COMFYUI_PODS: no Kubernetes API to patch
        url, headers, tls = self._api(f"pods/{urllib.parse.quote(pod)}")
        body = json.dumps({"metadata": {"annotations": {ANNOTATION: str(cost)}}})
        headers["Content-Type"] = "application/merge-patch+json"
        async with self._session.patch(url, ssl=tls, headers=headers, data=body,
                                       timeout=aiohttp.ClientTimeout(total=10)) as response:
            if response.status != 200:
                raise RuntimeError(f"patching {ANNOTATION} of pod {pod} answered {response.status}: "
                                   f"{(await response.text())[:300]}")

    def _api(self, path: str) -> Tuple[str, dict, ssl.SSLContext]:
        host, port = self._environ.get("KUBERNETES_SERVICE_HOST"), self._environ.get("KUBERNETES_SERVICE_PORT")
        if not host or not port:
            raise RuntimeError("KUBERNETES_SERVICE_HOST/PORT are not set: run in a cluster, or set COMFYUI_PODS")
        if self._ssl is None:
            self._ssl = ssl.create_default_context(cafile=f"{self._account}/ca.crt")
        # The token is re-read each time: the kubelet rotates projected tokens.
        with open(f"{self._account}/token") as handle:
            token = handle.read().strip()
        host = f"[{host}]" if ":" in host else host
        url = f"https://{host}:{port}/api/v1/namespaces/{self._namespace}/{path}"
        return url, {"Authorization": f"Bearer {token}"}, self._ssl
