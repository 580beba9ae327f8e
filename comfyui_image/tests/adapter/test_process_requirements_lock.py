"""The process-mode image's lock covers ComfyUI's requirements at PROCESS_COMFYUI_COMMIT and keeps the shared
torch layer (requirements-torch.lock) as it is. Offline: these read the committed files."""
import re

import pytest

from multigpu.comfy_adapter.pins import PROCESS_COMFYUI_COMMIT, PROCESS_COMFYUI_TAG
from requirements_lock import canonical, read_lock, rest_over
from tests.adapter.test_requirements_lock import SYNTHETIC, read, requirement_names, unhashed_entries

COPY = "comfyui-requirements-process.txt"
LOCK = "requirements-process.lock"


def pins(lock):
    return {pin.name: pin for pin in read_lock(read(lock))}


def test_every_process_lock_entry_has_a_sha256_and_an_exact_version():
    assert unhashed_entries(read(LOCK)) == []


def test_the_process_comfyui_requirements_copy_is_of_the_process_pin():
    header = [line for line in read(COPY).splitlines() if line.startswith("# comfyui-on-eks:")]
    assert header and PROCESS_COMFYUI_COMMIT in header[0] and f"tag {PROCESS_COMFYUI_TAG}," in header[1]


def test_the_torch_lock_and_the_process_lock_cover_every_requirement_of_the_process_pin():
    locked = {**pins("requirements-torch.lock"), **pins(LOCK)}
    missing = set(requirement_names(read(COPY))) - set(locked)
    assert missing == set(), f"not in the locks: {sorted(missing)}; run comfyui_image/lock-requirements.sh"


def exact_pins(text):
    """{name: version} of the `name==version` lines of a requirements file."""
    found = [re.fullmatch(r"([A-Za-z0-9._-]+)==(\S+)", line.split("#", 1)[0].strip()) for line in text.splitlines()]
    return {canonical(m.group(1)): m.group(2) for m in found if m}


@pytest.mark.parametrize("requirements", [COPY, "requirements-image.txt"])
def test_exact_pins_of_comfyui_and_of_the_image_are_the_locked_versions(requirements):
    # e.g. comfy-kitchen==0.2.31 (the thread lock has 0.2.40) and comfy-aimdo==0.4.13; prometheus_client.
    locked, exact = pins(LOCK), exact_pins(read(requirements))
    assert exact and {name: locked[name].version for name in exact} == exact


def test_the_process_lock_leaves_the_torch_layer_to_requirements_torch_lock():
    assert set(pins(LOCK)) & set(pins("requirements-torch.lock")) == set()


def test_the_process_lock_is_the_resolution_less_the_shared_torch_layer():
    torch_lock = "\n".join(p.text for p in read_lock(SYNTHETIC) if p.name in ("torch", "jinja2"))
    text = rest_over(SYNTHETIC, torch_lock)
    assert {p.name for p in read_lock(text)} == {p.name for p in read_lock(SYNTHETIC)} - {"torch", "jinja2"}
    assert "from comfyui-requirements-process.txt" in text and unhashed_entries(text) == []


def test_a_resolution_that_would_change_the_shared_torch_layer_is_refused_with_the_fix():
    torch_lock = SYNTHETIC.replace("torch==2.9.1", "torch==2.9.0")
    with pytest.raises(ValueError, match=r"pins torch==2\.9\.1 but requirements-torch\.lock pins torch==2\.9\.0: "
                                         r"run lock-requirements\.sh for both executors"):
        rest_over(SYNTHETIC, torch_lock)
