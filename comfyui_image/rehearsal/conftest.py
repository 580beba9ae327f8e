import os
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from comfyui_process import running_comfyui, write_ordinary_node_pack, write_random_vae  # noqa: E402
from workflows import VAE_NAME  # noqa: E402

WORKERS = int(os.environ.get("REHEARSAL_WORKERS", "2"))


@pytest.fixture(scope="session")
def comfyui_dir():
    folder = os.environ.get("COMFYUI_DIR", "")
    if not os.path.isfile(os.path.join(folder, "main.py")):
        pytest.exit("set COMFYUI_DIR to a ComfyUI checkout at the pinned release "
                    "(run comfyui_image/rehearsal/run.sh, which does)", returncode=2)
    return folder


@pytest.fixture(scope="session")
def comfyui(comfyui_dir, tmp_path_factory):
    """(base URL, log path, base directory) of one ComfyUI shared by the whole session."""
    base_dir = tmp_path_factory.mktemp("comfyui")
    write_random_vae(comfyui_dir, base_dir / "models" / "vae" / VAE_NAME)
    write_ordinary_node_pack(base_dir)
    with running_comfyui(comfyui_dir, base_dir, WORKERS) as (base, log_path):
        yield base, log_path, base_dir
