"""Process mode's launch plan: the pod's ComfyUI arguments split between the front and one stock
ComfyUI per GPU, with each worker's port, temp folder, database and device (docs/process-mode-design.md
3.1). Pure: the caller passes the settings, the arguments and the environment; nothing is started.

`--listen`/`--port` belong to the front; every other argument goes to each worker, except the ones
each worker gets its own value for (`--temp-directory`, `--database-url`: one SQLite file per
process) and the device flags, which the plan sets. Flags that cannot work once per worker are refused
with an error naming them.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from .launch_settings import SINGLE_DEVICE_FLAGS, LaunchError, LaunchSettings, custom_nodes_dir

DEFAULT_FRONT_LISTEN = "127.0.0.1"  # main.py's default; a bare --listen means every interface
BARE_LISTEN = "0.0.0.0,::"
DEFAULT_FRONT_PORT = 8188
# Flags whose value each worker gets from the plan; the pod's value (if any) only names the root.
PER_WORKER_FLAGS = ("--temp-directory", "--database-url")
# Flags ComfyUI defines with a value (cli_args.py, v0.8/v0.33) that the split must keep with it.
FRONT_FLAGS = ("--listen", "--port")
# One database shared by the workers' asset scanners would diverge per file (design 3.1).
# TLS flags would reach the workers, which the front calls over plain HTTP on loopback: every call
# would fail and the front itself would still serve plain HTTP.
_TLS = ("the front serves plain HTTP and reaches its workers over plain HTTP on loopback; terminate TLS "
        "in front of the pod (nginx, a load balancer)")
REFUSED_FLAGS = {"--enable-assets": "it needs one database and process mode gives each worker its own",
                 "--tls-keyfile": _TLS, "--tls-certfile": _TLS}
ADDED_FLAGS = ("--disable-auto-launch", "--log-stdout")
# What the worker node pack reads to ask the front for output file-name locks (design 3.7); the
# names are repeated in worker_pack/multigpu_worker/save_lock.py, which runs without this package
# (tests/worker_pack checks they match). COMFY_WORKER_SAVE_LOCK=0 passes through from the pod.
FRONT_URL_ENV = "COMFY_FRONT_URL"
WORKER_GPU_ENV = "COMFY_WORKER_GPU"
# Hosts on which a front also answers on IPv4 loopback (a bare --listen is "0.0.0.0,::").
_LOOPBACK_V4 = ("127.0.0.1", "0.0.0.0", "localhost")


@dataclass(frozen=True)
class WorkerPlan:
    gpu: int
    port: int
    args: Tuple[str, ...]  # main.py's arguments
    env_overrides: Dict[str, str]  # set on top of the pod's environment
    temp_dir: str  # the worker's own folder: ComfyUI's temp is <temp_dir>/temp, its database here

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass(frozen=True)
class ProcessPlan:
    front_hosts: Tuple[str, ...]
    front_port: int
    workers: Tuple[WorkerPlan, ...] = field(default_factory=tuple)


def plan_process_mode(settings: LaunchSettings, main_args: Sequence[str], env: Mapping[str, str], *,
                      extra_paths_config: Optional[str] = None) -> ProcessPlan:
    """`extra_paths_config`: the YAML that adds our worker node pack to each worker's custom_nodes."""
    options = _split(main_args)
    for flag, why in REFUSED_FLAGS.items():
        if flag in options.flags:
            raise LaunchError(f"ComfyUI argument {flag} cannot be used with COMFY_MULTI_GPU_EXECUTOR=process: "
                              f"{why}; drop the argument or set COMFY_MULTI_GPU_EXECUTOR=thread")
    listen = options.front.get("--listen", DEFAULT_FRONT_LISTEN)
    front_port = _port(options.front.get("--port", str(DEFAULT_FRONT_PORT)))
    ports = [settings.worker_base_port + gpu for gpu in range(settings.num_gpus)]
    if front_port in ports:
        raise LaunchError(f"--port {front_port} is one of the workers' ports {ports[0]}..{ports[-1]}; move "
                          f"COMFY_WORKER_BASE_PORT (default 18188) or the pod's --port")
    temp_root = _temp_root(options.own, main_args, settings.comfyui_dir)
    devices = _device_ids(env, settings)
    front_hosts = tuple(h.strip() for h in listen.split(",") if h.strip())
    front_url = front_url_for_workers(front_hosts, front_port)
    common = list(options.worker_args)
    for flag in ADDED_FLAGS + (("--mmap-torch-files",) if settings.worker_mmap_torch_files else ()):
        if flag not in options.flags:
            common.append(flag)
    if settings.device_type == "cpu":
        common.append("--cpu")
    if extra_paths_config:
        common += ["--extra-model-paths-config", extra_paths_config]
    workers = []
    for gpu, port in enumerate(ports):
        temp_dir = os.path.join(temp_root, f"gpu{gpu}")
        args = common + ["--listen", "127.0.0.1", "--port", str(port), "--temp-directory", temp_dir,
                         "--database-url", f"sqlite:///{os.path.join(temp_dir, 'comfyui.db')}"]
        workers.append(WorkerPlan(gpu=gpu, port=port, args=tuple(args), temp_dir=temp_dir,
                                  env_overrides={"CUDA_VISIBLE_DEVICES": devices[gpu], FRONT_URL_ENV: front_url,
                                                 WORKER_GPU_ENV: str(gpu)}))
    return ProcessPlan(front_hosts=front_hosts, front_port=front_port, workers=tuple(workers))


def front_url_for_workers(hosts: Sequence[str], port: int) -> str:
    """Where a worker on this pod reaches the front: loopback when the front listens there."""
    if any(host in _LOOPBACK_V4 for host in hosts):
        return f"http://127.0.0.1:{port}"
    if any(host in ("::", "::1") for host in hosts):
        return f"http://[::1]:{port}"
    host = hosts[0]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def prompt_id_rule_for(comfyui_version: str) -> str:
    """v0.33 refuses a client's prompt id that is not a canonical UUID (core/prompt_ids.py); older
    releases take any string. The front applies the workers' rule."""
    match = re.match(r"v?(\d+)\.(\d+)", comfyui_version.strip())
    if match and (int(match.group(1)), int(match.group(2))) < (0, 33):
        return "any"
    return "uuid"


@dataclass
class _Split:
    front: Dict[str, str] = field(default_factory=dict)
    own: Dict[str, str] = field(default_factory=dict)
    worker_args: List[str] = field(default_factory=list)
    flags: set = field(default_factory=set)


def _split(main_args: Sequence[str]) -> _Split:
    result = _Split()
    index = 0
    while index < len(main_args):
        arg = main_args[index]
        flag, has_inline, inline = arg.partition("=")
        index += 1
        result.flags.add(flag)
        if flag in SINGLE_DEVICE_FLAGS:
            # COMFY_MULTI_GPU_DEVICE=cpu lets the pod pass --cpu (launch_settings); the plan adds it.
            if flag == "--cpu":
                continue
            raise LaunchError(f"ComfyUI argument {flag} pins one device, which contradicts "
                              "COMFY_MULTI_GPU_SCHED=1; drop the argument or unset COMFY_MULTI_GPU_SCHED")
        if flag not in FRONT_FLAGS + PER_WORKER_FLAGS:
            result.worker_args.append(arg)
            continue
        if has_inline:
            value = inline
        elif flag == "--listen" and (index >= len(main_args) or main_args[index].startswith("-")):
            value = BARE_LISTEN  # --listen takes an optional value (cli_args.py: nargs="?")
        elif index < len(main_args):
            value, index = main_args[index], index + 1
        else:
            raise LaunchError(f"ComfyUI argument {flag} needs a value")
        (result.front if flag in FRONT_FLAGS else result.own)[flag] = value
    return result


def _temp_root(own: Mapping[str, str], main_args: Sequence[str], comfyui_dir: str) -> str:
    """The pod's --temp-directory when it names one (an emptyDir in the manifest), else where ComfyUI
    would put its temp folder (<--base-directory or ComfyUI>/temp)."""
    if "--temp-directory" in own:
        return os.path.abspath(own["--temp-directory"])
    return os.path.join(os.path.dirname(custom_nodes_dir(comfyui_dir, main_args)), "temp")


def _device_ids(env: Mapping[str, str], settings: LaunchSettings) -> List[str]:
    if settings.device_type == "cpu":
        return ["" for _ in range(settings.num_gpus)]
    listed = [d.strip() for d in env.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
    if not listed:
        # The device plugin already narrowed the container to its GPUs: 0..N-1.
        return [str(gpu) for gpu in range(settings.num_gpus)]
    if len(listed) < settings.num_gpus:
        raise LaunchError(f"CUDA_VISIBLE_DEVICES lists {len(listed)} devices, fewer than COMFY_NUM_GPUS="
                          f"{settings.num_gpus}; list one per GPU or lower COMFY_NUM_GPUS")
    return listed[:settings.num_gpus]


def _port(raw: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        raise LaunchError(f"--port must be a whole number, got {raw!r}") from None
    if not 1 <= port <= 65535:
        raise LaunchError(f"--port must be 1..65535, got {port}")
    return port
