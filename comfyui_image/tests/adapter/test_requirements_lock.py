"""The image installs only hashed, exactly pinned packages, and the locks cover what ComfyUI and we require.

Offline: these read the committed files. lock-requirements.sh (which needs PyPI) regenerates the locks.
"""
import os
import re
import subprocess

import pytest

from multigpu.comfy_adapter.pins import COMFYUI_COMMIT
from requirements_lock import canonical, read_lock, split, torch_layer

IMAGE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOCKS = ("requirements-torch.lock", "requirements.lock")


def read(name):
    with open(os.path.join(IMAGE_DIR, name)) as handle:
        return handle.read()


def unhashed_entries(text):
    """Entries with no `--hash=sha256:` line, and lines that are neither a pin, a hash nor a comment.

    Deliberately not requirements_lock.read_lock: this is the check on what that module writes.
    """
    problems, entry, hashed = [], None, False
    for line in text.splitlines() + ["end==0"]:
        stripped = line.strip()
        if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*==\S+( \\)?", line):
            if entry and not hashed:
                problems.append(entry)
            entry, hashed = line.rstrip(" \\"), False
        elif re.fullmatch(r"--hash=sha256:[0-9a-f]{64}( \\)?", stripped) and line.startswith("    ") and entry:
            hashed = True
        elif stripped and not stripped.startswith("#"):
            problems.append(f"not a pin or a hash: {line!r}")
    return problems


def requirement_names(text):
    """Names in a requirements file, markers and versions dropped."""
    names = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(canonical(re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line).group(0)))
    return names


def locked():
    return {pin.name: pin for name in LOCKS for pin in read_lock(read(name))}


def dockerfile_default(name):
    return re.search(rf"^ARG {name}=(\S*)$", read("Dockerfile"), re.MULTILINE).group(1)


@pytest.mark.parametrize("lock", LOCKS)
def test_every_locked_package_has_a_sha256_and_an_exact_version(lock):
    assert unhashed_entries(read(lock)) == []


def test_the_hash_check_itself_catches_an_unhashed_or_loose_line():
    text = "a==1.0 \\\n    --hash=sha256:" + "0" * 64 + "\nb==2.0\nc>=3\n"
    assert sorted(unhashed_entries(text)) == ["b==2.0", "not a pin or a hash: 'c>=3'"]


def test_the_locks_cover_every_requirement_of_comfyui_at_the_pinned_commit():
    missing = set(requirement_names(read("comfyui-requirements.txt"))) - set(locked())
    assert missing == set(), f"not in the locks: {sorted(missing)}; run comfyui_image/lock-requirements.sh"


def test_the_comfyui_requirements_copy_is_of_the_commit_the_adapter_is_pinned_to():
    header = [line for line in read("comfyui-requirements.txt").splitlines() if line.startswith("# comfyui-on-eks:")]
    assert header and COMFYUI_COMMIT in header[0]


def test_the_locks_hold_requirements_image_txt_at_its_exact_versions():
    pins = locked()
    for line in read("requirements-image.txt").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            assert pins[canonical(name)].version == version, line


def test_the_torch_lock_pins_the_dockerfiles_torch_versions():
    torch = {pin.name: pin.version for pin in read_lock(read("requirements-torch.lock"))}
    for name, arg in (("torch", "TORCH_VERSION"), ("torchvision", "TORCHVISION_VERSION"), ("torchaudio", "TORCHAUDIO_VERSION")):
        assert torch[name] == dockerfile_default(arg)


def test_no_package_is_in_both_locks():
    torch, rest = ({pin.name for pin in read_lock(read(lock))} for lock in LOCKS)
    assert torch & rest == set()


def pip_installs():
    """Each `pip install ...` command in the Dockerfile's RUN instructions, continuation lines joined."""
    text = read("Dockerfile").replace("\\\n", " ")
    runs = [line for line in text.splitlines() if line.startswith("RUN ")]
    return [m.group(0) for run in runs for m in re.finditer(r"pip install[^;&|]*", run)]


def test_the_dockerfile_installs_only_the_locks_with_hashes_required():
    installs = pip_installs()
    hashed = [i for i in installs if "--require-hashes" in i and "--no-deps" in i]
    escape = [i for i in installs if '--index-url "$TORCH_INDEX_URL"' in i]
    assert sorted(installs) == sorted(hashed + escape), installs
    assert len(escape) == 1, "only the TORCH_INDEX_URL escape hatch installs without hashes"
    assert any("-r /tmp/requirements-torch.lock" in i for i in hashed)
    assert any("-r /tmp/requirements.lock" in i for i in hashed)
    assert not any("/opt/comfyui/requirements.txt" in i or "requirements-image.txt" in i for i in installs)


def test_the_dockerfile_proves_the_locks_complete_and_the_comfyui_copy_current():
    dockerfile = read("Dockerfile")
    assert "&& pip check" in dockerfile
    assert "cmp -s - /opt/comfyui/requirements.txt" in dockerfile


SYNTHETIC = """\
# This file was autogenerated by uv
jinja2==3.1.6 \\
    --hash=sha256:{h}
    # via torch
markupsafe==3.0.4 \\
    --hash=sha256:{h}
    # via
    #   jinja2
    #   mako
mako==1.4.3 \\
    --hash=sha256:{h}
    # via alembic
nvidia-cusparse-cu12==12.5.8.93 \\
    --hash=sha256:{h}
    # via
    #   nvidia-cusolver-cu12
    #   torch
nvidia-cusolver-cu12==11.7.3.90 \\
    --hash=sha256:{h}
    # via torch
torch==2.9.1 \\
    --hash=sha256:{h}
    # via
    #   -r comfyui-requirements.txt
    #   kornia
torchvision==0.24.1 \\
    --hash=sha256:{h}
    # via -r comfyui-requirements.txt
torchaudio==2.9.1 \\
    --hash=sha256:{h}
    # via -r comfyui-requirements.txt
""".format(h="1" * 64)


def test_the_torch_layer_takes_what_only_torch_needs_and_leaves_shared_packages():
    layer = torch_layer(read_lock(SYNTHETIC))
    assert layer == {"torch", "torchvision", "torchaudio", "jinja2", "nvidia-cusolver-cu12", "nvidia-cusparse-cu12"}
    parts = split(SYNTHETIC)
    assert "markupsafe==3.0.4" in parts["rest"] and "markupsafe" not in parts["torch"]
    assert all(unhashed_entries(text) == [] for text in parts.values())


def test_a_loose_requirement_in_the_resolution_is_refused():
    with pytest.raises(ValueError, match="not an exact pin"):
        read_lock("torch>=2\n")


def test_the_lock_script_parses():
    assert subprocess.run(["bash", "-n", os.path.join(IMAGE_DIR, "lock-requirements.sh")]).returncode == 0
