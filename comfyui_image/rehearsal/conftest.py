import os
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from comfyui_process import (IMAGE_DIR, running_comfyui, running_process_mode, write_ordinary_node_pack,  # noqa: E402
                             write_random_vae)
from hold_file_pack import write_hold_file_pack  # noqa: E402
from workflows import VAE_NAME  # noqa: E402

sys.path.insert(0, str(IMAGE_DIR))
from multigpu.launch import comfyui_version as comfyui_version_of  # noqa: E402

WORKERS = int(os.environ.get("REHEARSAL_WORKERS", "2"))
# run.sh --executor: which pin COMFYUI_DIR is at. Process mode's tests (test_process_*.py) run with either;
# thread mode's adapter patches one release, so its tests are skipped against the process pin.
EXECUTOR = os.environ.get("REHEARSAL_EXECUTOR", "thread")
PROCESS_MODE_FILES = "test_process_"


def pytest_collection_modifyitems(config, items):
    if EXECUTOR != "process":
        return
    skip = pytest.mark.skip(reason="thread mode is rehearsed on its own pin (COMFYUI_TAG): run.sh --executor thread")
    for item in items:
        if not item.path.name.startswith(PROCESS_MODE_FILES):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def comfyui_dir():
    folder = os.environ.get("COMFYUI_DIR", "")
    if not os.path.isfile(os.path.join(folder, "main.py")):
        pytest.exit("set COMFYUI_DIR to a ComfyUI checkout at the pinned release "
                    "(run comfyui_image/rehearsal/run.sh, which does)", returncode=2)
    return folder


@pytest.fixture(scope="session")
def comfyui_version(comfyui_dir):
    """e.g. "0.8.0", read as the launcher reads it: what the front reports in comfyui_executor_info."""
    return comfyui_version_of(comfyui_dir)


@pytest.fixture(scope="session")
def comfyui(comfyui_dir, tmp_path_factory):
    """(base URL, log path, base directory) of one ComfyUI shared by the whole session."""
    base_dir = tmp_path_factory.mktemp("comfyui")
    write_random_vae(comfyui_dir, base_dir / "models" / "vae" / VAE_NAME)
    write_ordinary_node_pack(base_dir)
    with running_comfyui(comfyui_dir, base_dir, WORKERS) as (base, log_path):
        yield base, log_path, base_dir


@pytest.fixture(scope="module")
def process_front(comfyui_dir, tmp_path_factory):
    """(base URL, log path, base directory, first worker port) of the front and its WORKERS stock ComfyUI
    processes, started once per test file (1-2 minutes on 2 busy cores)."""
    base_dir = tmp_path_factory.mktemp("process-front")
    write_hold_file_pack(base_dir)
    # COMFY_GPU_BREAKER_PROBE_S: a restarted worker's GPU returns within seconds.
    with running_process_mode(comfyui_dir, base_dir, WORKERS, {"COMFY_GPU_BREAKER_PROBE_S": "2"}) as started:
        base, log_path, base_port = started
        yield base, log_path, base_dir, base_port
