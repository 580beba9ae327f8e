"""Ready ComfyUI pods from a Kubernetes pod list (GET /api/v1/namespaces/<ns>/pods?labelSelector=...)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

from .deletion_cost import parse_cost


@dataclass(frozen=True)
class Pod:
    name: str
    base_url: str
    #: Its controller.kubernetes.io/pod-deletion-cost as listed (deletion_cost.py); None when unset or unknown.
    deletion_cost: Optional[int] = None


def ready_pods(pod_list: dict, port: int) -> List[Pod]:
    """Pods with condition Ready=True, an IP, and no deletionTimestamp (a terminating pod drains its own
    prompts; it takes no new job)."""
    pods = []
    for pod in pod_list.get("items") or []:
        meta, status = pod.get("metadata") or {}, pod.get("status") or {}
        if meta.get("deletionTimestamp") or not status.get("podIP"):
            continue
        ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                    for c in status.get("conditions") or [])
        if ready:
            ip = status["podIP"]
            host = f"[{ip}]" if ":" in ip else ip
            pods.append(Pod(meta.get("name", ip), f"http://{host}:{port}", parse_cost(meta.get("annotations"))))
    return sorted(pods, key=lambda p: p.name)
