"""Output file counters that two worker processes cannot both take (process mode, design 3.7).

Stock `folder_paths.get_save_image_path` (v0.8.0 and v0.33.0 folder_paths.py) picks the next counter
by listing the output folder, and the node writes its files afterwards, so two workers saving with
one prefix at once could pick the same name and one file would overwrite the other. The wrapper
asks the front for the lock on (output folder, prefix) first, `POST <front>/multigpu/save-lock`,
and waits for it; the front releases it on this worker's next node message (core/save_locks.py).

Never fails a render for the lock: when the front cannot be reached or refuses, the save goes ahead
the stock way with a warning. Standard library only, and no ComfyUI import: the pack's __init__
passes folder_paths in, so this module is tested without ComfyUI (tests/worker_pack).
"""
import functools
import json
import logging
import os
import urllib.request
from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Tuple

# Set by the launcher (multigpu/process_plan.py, which repeats the first two names).
FRONT_URL_ENV = "COMFY_FRONT_URL"
WORKER_GPU_ENV = "COMFY_WORKER_GPU"
SWITCH_ENV = "COMFY_WORKER_SAVE_LOCK"  # "0" turns the wrapper off
SAVE_LOCK_PATH = "/multigpu/save-lock"
# The lock is held while another worker's save node writes, normally well under a minute; a
# video encode may take minutes. Past this the save goes ahead unlocked rather than hang a render.
WAIT_S = 600.0

log = logging.getLogger("multigpu.worker")
# The front is on this pod: an HTTP(S)_PROXY from the environment must not route to it.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# () -> (prompt id, node id) of the node running on the calling thread, (None, None) if unknown.
NodeOf = Callable[[], Tuple[Optional[str], Optional[str]]]


@dataclass(frozen=True)
class SaveLockClient:
    front_url: str
    gpu: int
    wait_s: float = WAIT_S

    def take(self, folder: str, prefix: str, prompt_id: Optional[str], node: Optional[str]) -> None:
        """Return once the front granted (folder, prefix) to this worker; raise otherwise."""
        body = json.dumps({"gpu": self.gpu, "folder": folder, "prefix": prefix,
                           "prompt_id": prompt_id, "node": node}).encode()
        request = urllib.request.Request(self.front_url + SAVE_LOCK_PATH, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with _OPENER.open(request, timeout=self.wait_s) as response:  # non-2xx raises HTTPError
            response.read()


def client_from_env(env: Mapping[str, str]) -> Optional[SaveLockClient]:
    """The client, or None (stock behaviour) when switched off or not started by our launcher."""
    switch = env.get(SWITCH_ENV, "").strip() or "1"
    if switch == "0":
        log.info("%s=0: output file names are not locked across workers", SWITCH_ENV)
        return None
    if switch != "1":
        log.warning("%s must be 0 or 1, got %r; locking output file names as with 1", SWITCH_ENV, switch)
    url, gpu = env.get(FRONT_URL_ENV, "").strip(), env.get(WORKER_GPU_ENV, "").strip()
    if not url or not gpu.isdigit():
        log.warning("%s and %s are not set (the process-mode launcher sets them): output file names are "
                    "not locked across workers", FRONT_URL_ENV, WORKER_GPU_ENV)
        return None
    return SaveLockClient(url.rstrip("/"), int(gpu))


def wrap_save_image_path(folder_paths, client: SaveLockClient, node_of: NodeOf) -> bool:
    """Make `folder_paths.get_save_image_path` take the lock first (same parameters and result);
    False when it is already wrapped."""
    original = folder_paths.get_save_image_path
    if getattr(original, "_multigpu_save_lock", False):
        return False

    @functools.wraps(original)
    def get_save_image_path(filename_prefix, output_dir, image_width=0, image_height=0):
        _take_or_warn(client, filename_prefix, output_dir, node_of)
        return original(filename_prefix, output_dir, image_width, image_height)

    get_save_image_path._multigpu_save_lock = True
    folder_paths.get_save_image_path = get_save_image_path
    log.info("GPU %d: output file names are locked through the front at %s (%s=0 turns this off)",
             client.gpu, client.front_url, SWITCH_ENV)
    return True


def _take_or_warn(client: SaveLockClient, prefix, output_dir, node_of: NodeOf) -> None:
    try:
        prompt_id, node = node_of()
        # Absolute here: the front compares folders and runs in another working directory.
        client.take(os.path.abspath(output_dir), prefix, prompt_id, node)
    except Exception as error:  # the lock protects a file name; it must never fail the render
        log.warning("GPU %d: no save lock on %r from the front at %s (%s); saving without it, so a worker "
                    "saving this prefix at the same moment could take the same file name",
                    client.gpu, prefix, client.front_url, error)
