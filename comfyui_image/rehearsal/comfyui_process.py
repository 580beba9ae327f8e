"""Start the real ComfyUI through the image's launcher (multigpu.launch) with workers on the CPU.

The same arguments the pod passes (manifests/base/comfyui-deployment.yaml), pointed at a scratch
directory; COMFY_MULTI_GPU_DEVICE=cpu is the only difference from a GPU node.
"""
from __future__ import annotations

import contextlib
import os
import pathlib
import random
import re
import signal
import socket
import subprocess
import sys
from typing import Mapping, Optional

IMAGE_DIR = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(IMAGE_DIR / "tests" / "e2e"))
from server_process import free_port, http_json as http, serving  # noqa: E402,F401 (http re-exported)

STARTUP_TIMEOUT_S = 240.0


class PlainTextLog(type(pathlib.Path())):
    """The log as v0.8 wrote it, whichever release ran: v0.33's logger starts every line with a level tag
    in ANSI colours (app/logger.py ColoredFormatter, even without a terminal), so "[gpu 1] got prompt"
    would read "[gpu 1] <codes>[INFO]<codes> got prompt"."""

    def read_text(self, *args, **kwargs) -> str:
        return ANSI_CODES.sub("", LEVEL_TAGS.sub("", super().read_text(*args, **kwargs)))


LEVEL_TAGS = re.compile(r"(?:\x1b\[[0-9;]*m)+\[[A-Z]+\]\x1b\[0m ")
ANSI_CODES = re.compile(r"\x1b\[[0-9;]*m")


@contextlib.contextmanager
def running_comfyui(comfyui_dir: str, base_dir: pathlib.Path, workers: int, weights_cache_gib: float = 2.0,
                    device: str = "cpu", executor: str = "thread", extra_env: Optional[Mapping[str, str]] = None):
    """`device` "cuda" starts it as on a GPU node (gpu-check/check_oom.py), `workers` GPUs; `executor`
    "process" starts our front with one stock ComfyUI per worker (COMFY_MULTI_GPU_EXECUTOR)."""
    port = free_port()
    for folder in ("output", "input", "temp", "user", "custom_nodes"):
        (base_dir / folder).mkdir(parents=True, exist_ok=True)
    (base_dir / "ready").write_text("")
    env = dict(os.environ, COMFY_MULTI_GPU_SCHED="1", COMFY_MULTI_GPU_DEVICE=device,
               COMFY_NUM_GPUS=str(workers), COMFYUI_DIR=comfyui_dir, COMFY_MULTI_GPU_EXECUTOR=executor,
               COMFY_WEIGHTS_CACHE_GIB=str(weights_cache_gib),
               # run.sh --extra-pythonpath: packages a newer ComfyUI needs beyond the venv, for every worker too
               PYTHONPATH=os.pathsep.join(filter(None, [str(IMAGE_DIR), os.environ.get("PYTHONPATH", "")])),
               MODELS_READY_MARKER=str(base_dir / "ready"), **(extra_env or {}))
    args = [sys.executable, "-m", "multigpu.launch", "--listen=127.0.0.1", f"--port={port}",
            f"--base-directory={base_dir}", f"--output-directory={base_dir / 'output'}",
            f"--input-directory={base_dir / 'input'}", f"--temp-directory={base_dir / 'temp'}",
            f"--user-directory={base_dir / 'user'}",
            f"--database-url=sqlite:///{base_dir / 'user' / 'comfyui.db'}", "--disable-auto-launch"]
    base = f"http://127.0.0.1:{port}"
    log_path = PlainTextLog(base_dir / "comfyui.log")
    # SIGINT: ComfyUI's own shutdown path (KeyboardInterrupt in main.py).
    with serving(args, ready_url=base + "/readyz", log_path=log_path, name="ComfyUI",
                 startup_timeout=STARTUP_TIMEOUT_S, cwd=comfyui_dir, env=env, stop_signal=signal.SIGINT):
        yield base, log_path


def free_port_run(count: int, start: int = 20000, stop: int = 40000) -> int:
    """The first of `count` consecutive loopback ports free now (process mode's worker i listens on base + i),
    from a random point: rehearsals run at once (other checkouts, CI) would otherwise all take 20000 and,
    as the workers bind a minute or two later, one front would talk to the other's ComfyUI."""
    offset = random.randrange(0, (stop - start) // count) * count
    for base in [*range(start + offset, stop - count, count), *range(start, start + offset, count)]:
        sockets = []
        try:
            for port in range(base, base + count):
                sockets.append(socket.socket())
                sockets[-1].bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError(f"no {count} consecutive free ports in {start}..{stop}")


@contextlib.contextmanager
def running_process_mode(comfyui_dir: str, base_dir: pathlib.Path, workers: int,
                         extra_env: Optional[Mapping[str, str]] = None):
    """(base URL, log path, first worker port): our front with one stock ComfyUI per worker."""
    base_port = free_port_run(workers)
    env = {"COMFY_WORKER_BASE_PORT": str(base_port), **(extra_env or {})}
    with running_comfyui(comfyui_dir, base_dir, workers, executor="process", extra_env=env) as (base, log_path):
        yield base, log_path, base_port


def write_random_vae(comfyui_dir: str, path: pathlib.Path) -> None:
    """An SD1-shaped VAE with random weights (~160 MB fp16), built from ComfyUI's own model class in
    a child process (ComfyUI's imports read sys.argv), so VAELoader takes its real path."""
    script = f"""
import sys
sys.path.insert(0, {comfyui_dir!r}); sys.argv = [sys.argv[0], "--cpu"]
import comfy.options; comfy.options.enable_args_parsing()
import torch, safetensors.torch
from comfy.ldm.models.autoencoder import AutoencoderKL
torch.manual_seed(0)
ddconfig = dict(double_z=True, z_channels=4, resolution=256, in_channels=3, out_ch=3, ch=128,
                ch_mult=[1, 2, 4, 4], num_res_blocks=2, attn_resolutions=[], dropout=0.0)
model = AutoencoderKL(ddconfig=ddconfig, embed_dim=4)
state = {{k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}}
safetensors.torch.save_file(state, {str(path)!r})
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=300)


# A node pack doing what ordinary packs do at import: bind names from the modules the adapter
# patched, wrap a function it did not patch, add a route, start a thread. None of it undoes a patch,
# so /readyz must stay 200 (comfy_adapter/patch_guard.py).
ORDINARY_NODE_PACK = """
import threading
import comfy.model_management, comfy.utils, folder_paths, latent_preview, server
from comfy.model_management import get_torch_device, soft_empty_cache  # names bound, nothing replaced
from aiohttp import web

_upscale = comfy.utils.common_upscale
def common_upscale(*args, **kwargs):
    return _upscale(*args, **kwargs)
comfy.utils.common_upscale = common_upscale

@server.PromptServer.instance.routes.get("/rehearsal_pack/ping")
async def ping(request):
    return web.json_response({"device": str(get_torch_device())})

threading.Thread(target=lambda: None, name="rehearsal-pack", daemon=True).start()

class RehearsalPassImage:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"image": ("IMAGE",)}}
    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "run"
    CATEGORY = "rehearsal"
    def run(self, image):
        return (image,)

NODE_CLASS_MAPPINGS = {"RehearsalPassImage": RehearsalPassImage}
"""


def write_ordinary_node_pack(base_dir: pathlib.Path) -> None:
    pack = base_dir / "custom_nodes" / "rehearsal_ordinary_pack"
    pack.mkdir(parents=True, exist_ok=True)
    (pack / "__init__.py").write_text(ORDINARY_NODE_PACK)
