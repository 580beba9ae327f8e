"""The runner's settings from its environment, parsed once at start; each error names the variable."""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Mapping, Optional, Tuple

from .contract import JobsContract


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class StaticPod:
    name: str
    base_url: str


@dataclass(frozen=True)
class RunnerSettings:
    queue_url: str
    table_name: str
    outputs_bucket: str
    region: str
    runner_name: str
    namespace: str = "comfyui"
    pod_selector: str = "app.kubernetes.io/name=comfyui"
    pod_port: int = 8188
    health_port: int = 8080
    #: HEALTH_HOST: all interfaces in the pod (the kubelet probes the pod IP); tests use 127.0.0.1.
    health_host: str = "0.0.0.0"
    #: COMFYUI_PODS (tests and local runs): replaces Kubernetes discovery.
    static_pods: Optional[Tuple[StaticPod, ...]] = None
    visibility_timeout_seconds: float = 120.0
    lease_seconds: float = 60.0
    heartbeat_seconds: float = 5.0
    progress_min_interval_seconds: float = 1.0
    #: SQS long poll; at most 20 s (ReceiveMessage WaitTimeSeconds). Short enough that a GPU freed by
    #: interactive traffic, or SIGTERM, is noticed soon.
    receive_wait_seconds: int = 2
    #: SESSION_ACTIVITY_SECONDS (config sessionActivityMinutes): the window the pods' comfyui_ws_sessions_recent
    #: should use (their COMFY_SESSION_ACTIVITY_S); a pod reporting another window is logged (scaling_monitor.py).
    session_activity_seconds: float = 300.0
    #: SCALING_REFRESH_SECONDS: how often the jobs queue's backlog and each pod's /metrics are read for /scaling.
    scaling_refresh_seconds: float = 5.0
    #: SCALING_STALE_SECONDS: GET /scaling answers 503 once a number it needs is older than this.
    scaling_stale_seconds: float = 30.0
    #: DELETION_COST_IDLE_SECONDS: a busy-marked pod idle this long gets deletion cost 0 again (deletion_cost.py).
    deletion_cost_idle_seconds: float = 60.0


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"{name} must be set (the jobs stack's output; see docs/jobs.md)")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"{name} must be > 0, got {raw!r}")
    return value


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise SettingsError(f"{name} must be a port 1..65535, got {raw!r}")
    return int(raw)


def parse_static_pods(raw: str) -> Tuple[StaticPod, ...]:
    """COMFYUI_PODS: 'name=http://127.0.0.1:8188,other=http://...'."""
    pods = []
    for part in (p.strip() for p in raw.split(",") if p.strip()):
        name, sep, url = part.partition("=")
        if not sep or not name or not url.startswith(("http://", "https://")):
            raise SettingsError(f"COMFYUI_PODS entries must be name=http://host:port, got {part!r}")
        pods.append(StaticPod(name.strip(), url.strip().rstrip("/")))
    if len({p.name for p in pods}) != len(pods):
        raise SettingsError(f"COMFYUI_PODS names must be unique, got {raw!r}")
    return tuple(pods)


def parse_settings(env: Mapping[str, str], contract: JobsContract) -> RunnerSettings:
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or ""
    if not region:
        raise SettingsError("AWS_REGION must be set (the region of the jobs queue and table)")
    static = env.get("COMFYUI_PODS", "").strip()
    settings = RunnerSettings(
        queue_url=_required(env, "JOBS_QUEUE_URL"),
        table_name=_required(env, "JOBS_TABLE_NAME"),
        outputs_bucket=_required(env, "OUTPUTS_BUCKET_NAME"),
        region=region,
        runner_name=env.get("RUNNER_NAME") or socket.gethostname(),
        namespace=env.get("COMFYUI_NAMESPACE") or "comfyui",
        pod_selector=env.get("COMFYUI_POD_SELECTOR") or "app.kubernetes.io/name=comfyui",
        pod_port=_port(env, "COMFYUI_POD_PORT", 8188),
        health_port=_port(env, "HEALTH_PORT", 8080),
        health_host=env.get("HEALTH_HOST") or "0.0.0.0",
        static_pods=parse_static_pods(static) if static else None,
        visibility_timeout_seconds=_seconds(env, "JOB_VISIBILITY_TIMEOUT_SECONDS",
                                            contract.visibility_timeout_seconds),
        lease_seconds=_seconds(env, "JOB_LEASE_SECONDS", contract.lease_seconds),
        heartbeat_seconds=_seconds(env, "JOB_HEARTBEAT_SECONDS", contract.heartbeat_seconds),
        progress_min_interval_seconds=contract.progress_min_interval_seconds,
        session_activity_seconds=_seconds(env, "SESSION_ACTIVITY_SECONDS", 300.0),
        scaling_refresh_seconds=_seconds(env, "SCALING_REFRESH_SECONDS", 5.0),
        scaling_stale_seconds=_seconds(env, "SCALING_STALE_SECONDS", 30.0),
        deletion_cost_idle_seconds=_seconds(env, "DELETION_COST_IDLE_SECONDS", 60.0),
    )
    if settings.scaling_stale_seconds < 3 * settings.scaling_refresh_seconds:
        raise SettingsError(f"SCALING_STALE_SECONDS ({settings.scaling_stale_seconds:g}) must be at least 3 x "
                            f"SCALING_REFRESH_SECONDS ({settings.scaling_refresh_seconds:g}), or one slow read "
                            "turns /scaling into an error")
    if settings.heartbeat_seconds >= settings.lease_seconds:
        raise SettingsError(f"JOB_HEARTBEAT_SECONDS ({settings.heartbeat_seconds:g}) must be shorter than "
                            f"JOB_LEASE_SECONDS ({settings.lease_seconds:g}), or leases lapse between beats")
    if settings.lease_seconds > settings.visibility_timeout_seconds:
        raise SettingsError(f"JOB_LEASE_SECONDS ({settings.lease_seconds:g}) must not exceed "
                            f"JOB_VISIBILITY_TIMEOUT_SECONDS ({settings.visibility_timeout_seconds:g}): a "
                            "message must stay hidden while its lease holds")
    return settings


def settings_from_environment(contract: JobsContract) -> RunnerSettings:
    return parse_settings(os.environ, contract)
