"""output_shipper.py: copies settled files once, re-copies changed ones, never exposes partial files."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from conftest import SCRIPTS, load

shipper_module = load("output_shipper")


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


def write(path, data: bytes, mtime: float):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))


@pytest.fixture
def setup(tmp_path):
    clock = Clock()
    source, bucket = tmp_path / "output", tmp_path / "bucket"
    source.mkdir()
    bucket.mkdir()
    return shipper_module.Shipper(str(source), str(bucket / "comfyui-abc"), settle_seconds=10, clock=clock), \
        source, bucket / "comfyui-abc", clock


def test_a_file_is_copied_only_after_it_stopped_changing_for_the_settle_time(setup):
    shipper, source, dest, clock = setup
    write(source / "ComfyUI_00001_.png", b"png", clock.now)
    assert shipper.run_once() == 0  # first sight
    clock.now += 5
    assert shipper.run_once() == 0  # unchanged but not settled
    clock.now += 6
    assert shipper.run_once() == 1
    assert (dest / "ComfyUI_00001_.png").read_bytes() == b"png"
    clock.now += 30
    assert shipper.run_once() == 0  # never twice


def test_a_video_rewritten_after_its_copy_is_copied_again(setup):
    shipper, source, dest, clock = setup
    video = source / "video" / "clip_00001.mp4"
    write(video, b"mdat", clock.now - 60)
    shipper.run_once()
    shipper.run_once()
    assert (dest / "video" / "clip_00001.mp4").read_bytes() == b"mdat"
    write(video, b"moov+mdat", clock.now)  # the encoder's second pass moves the index to the front
    shipper.run_once()
    clock.now += 11
    shipper.run_once()
    assert (dest / "video" / "clip_00001.mp4").read_bytes() == b"moov+mdat"


def test_the_final_pass_copies_unsettled_files_and_skips_hidden_ones(setup):
    shipper, source, dest, clock = setup
    write(source / "last.png", b"fresh", clock.now)
    write(source / ".partial.tmp", b"x", clock.now - 100)
    assert shipper.run_once(final=True) == 1
    assert sorted(os.listdir(dest)) == ["last.png"]


def test_after_a_restart_objects_already_in_the_bucket_are_not_copied_again(setup):
    shipper, source, dest, clock = setup
    write(source / "a.png", b"aaa", clock.now - 60)
    write(dest / "a.png", b"aaa", clock.now - 50)
    shipper.run_once()
    assert shipper.run_once() == 0 and shipper.shipped


def test_a_failed_copy_is_retried_on_the_next_pass(setup):
    shipper, source, dest, clock = setup
    write(source / "b.png", b"bbb", clock.now - 60)
    dest.write_bytes(b"")  # the destination folder cannot be created: every copy fails, even as root
    shipper.run_once()
    assert shipper.run_once() == 0 and shipper.failures == 1
    dest.unlink()
    assert shipper.run_once() == 1
    assert (dest / "b.png").read_bytes() == b"bbb"


def test_the_prefix_must_be_a_plain_name():
    with pytest.raises(SystemExit):
        shipper_module.parse_args(["--source", "/a", "--bucket-mount", "/b", "--prefix", "../x"])


# --- Only regular files are shipped (security review 2026-11, row 9) ---------------------------------------
# A symlink to /dev/zero or a FIFO makes a shipper that follows links stream forever or block on open, so
# these passes run in a child process with a time limit and a file size limit (RLIMIT_FSIZE: a runaway copy
# is killed by SIGXFSZ instead of filling the disk) and fail instead of hanging the test run.
RUN_ONE_PASS = """
import importlib.util, resource, sys
resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024 * 1024, 16 * 1024 * 1024))
spec = importlib.util.spec_from_file_location("output_shipper", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
shipper = module.Shipper(sys.argv[2], sys.argv[3], settle_seconds=0)
shipper.run_once(final=True)
"""


def run_one_pass_in_a_child(source, dest):
    script = str(SCRIPTS / "output_shipper.py")
    try:
        return subprocess.run([sys.executable, "-c", RUN_ONE_PASS, script, str(source), str(dest)],
                              capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("the shipper hung (it followed a link or opened a FIFO)")


def test_a_symlink_to_dev_zero_is_not_shipped_and_the_other_files_are(tmp_path):
    source, dest = tmp_path / "output", tmp_path / "bucket" / "comfyui-abc"
    write(source / "a.png", b"aaa", 1_000)
    os.symlink("/dev/zero", source / "b.png")
    write(source / "c.png", b"ccc", 1_000)
    result = run_one_pass_in_a_child(source, dest)
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(dest)) == ["a.png", "c.png"]
    assert "not a regular file" in result.stdout


def test_a_fifo_is_skipped_without_blocking_the_other_files(tmp_path):
    source, dest = tmp_path / "output", tmp_path / "bucket" / "comfyui-abc"
    write(source / "a.png", b"aaa", 1_000)
    os.mkfifo(source / "b.png")
    write(source / "c.png", b"ccc", 1_000)
    result = run_one_pass_in_a_child(source, dest)
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(dest)) == ["a.png", "c.png"]


def test_a_symlink_to_a_file_outside_the_outputs_is_not_shipped(setup, tmp_path, capsys):
    shipper, source, dest, clock = setup
    write(tmp_path / "secret" / "token", b"service account token", clock.now - 60)
    os.symlink(tmp_path / "secret" / "token", source / "leak.png")
    os.symlink(tmp_path / "secret", source / "leakdir")  # a linked directory is not walked either
    write(source / "ok.png", b"ok", clock.now - 60)
    shipper.run_once(final=True)
    shipper.run_once(final=True)
    assert sorted(os.listdir(dest)) == ["ok.png"]
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [entry["file"] for entry in logged if entry["msg"].startswith("skipped")] == ["leak.png"]  # once


def test_a_file_replaced_by_a_symlink_after_the_scan_is_not_copied(setup, tmp_path):
    shipper, source, dest, clock = setup
    write(tmp_path / "secret", b"secret", clock.now - 60)
    write(source / "a.png", b"aaa", clock.now - 60)
    found = shipper.scan()
    os.unlink(source / "a.png")
    os.symlink(tmp_path / "secret", source / "a.png")
    shipper.scan = lambda: found  # the race: the link appears between the scan and the open
    assert shipper.run_once(final=True) == 0
    assert not (dest / "a.png").exists()


def test_a_file_over_the_size_cap_is_refused_and_the_others_are_shipped(tmp_path, capsys):
    source, dest = tmp_path / "output", tmp_path / "bucket" / "comfyui-abc"
    write(source / "big.mp4", b"x" * 11, 1_000)
    write(source / "small.png", b"y" * 10, 1_000)
    shipper = shipper_module.Shipper(str(source), str(dest), settle_seconds=0, max_file_bytes=10)
    assert shipper.run_once(final=True) == 1
    assert sorted(os.listdir(dest)) == ["small.png"]
    assert "over the size cap" in capsys.readouterr().out


def test_a_file_that_grew_past_the_size_cap_after_the_scan_is_refused(tmp_path):
    source, dest = tmp_path / "output", tmp_path / "bucket" / "comfyui-abc"
    write(source / "growing.mp4", b"x" * 8, 1_000)
    shipper = shipper_module.Shipper(str(source), str(dest), settle_seconds=0, max_file_bytes=10)
    found = shipper.scan()
    write(source / "growing.mp4", b"x" * 20, 1_000)
    shipper.scan = lambda: found
    assert shipper.run_once(final=True) == 0
    assert not (dest / "growing.mp4").exists()


def test_a_copy_that_grew_past_the_cap_on_a_volume_without_delete_is_refused_once_not_retried(tmp_path, monkeypatch,
                                                                                               capsys):
    # The outputs volume has no allow-delete (and the pod's role no s3:DeleteObject): unlink fails there.
    source, dest = tmp_path / "output", tmp_path / "bucket" / "comfyui-abc"
    write(source / "growing.mp4", b"x" * 8, 1_000)
    shipper = shipper_module.Shipper(str(source), str(dest), settle_seconds=0, max_file_bytes=10)

    def grows_while_copied(src, dst, limit):  # the writer appends while the copy runs
        dst.write(b"x" * (limit + 1))
        return limit + 1

    def refuse_unlink(path):
        raise PermissionError(1, "Operation not permitted", path)

    monkeypatch.setattr(shipper_module, "copy_at_most", grows_while_copied)
    monkeypatch.setattr(shipper_module.os, "unlink", refuse_unlink)
    assert shipper.run_once(final=True) == 0
    assert shipper.run_once(final=True) == 0
    assert shipper.failures == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    refused = [line for line in lines if "grew over the size cap" in line["msg"]]
    assert len(refused) == 1 and "first 11 bytes stay in the bucket" in refused[0]["msg"]


def test_a_copy_stops_one_byte_past_the_size_cap_so_a_growing_file_cannot_stall_it():
    dst = io.BytesIO()
    assert shipper_module.copy_at_most(io.BytesIO(b"x" * 100), dst, 10) == 11 and len(dst.getvalue()) == 11
    assert shipper_module.copy_at_most(io.BytesIO(b"x" * 10), io.BytesIO(), 10) == 10


@pytest.mark.parametrize("value", ["0", "-1", "lots", "1.5"])
def test_a_bad_size_cap_is_an_error_that_names_the_setting(value, capsys):
    with pytest.raises(SystemExit):
        shipper_module.parse_args(["--source", "/a", "--bucket-mount", "/b", "--prefix", "p",
                                   "--max-file-gib", value])
    error = capsys.readouterr().err
    assert "--max-file-gib" in error and "must be a whole number" in error


def test_the_size_cap_defaults_to_20_gib_and_can_come_from_the_environment(monkeypatch):
    base = ["--source", "/a", "--bucket-mount", "/b", "--prefix", "p"]
    assert shipper_module.parse_args(base).max_file_gib == 20
    monkeypatch.setenv("OUTPUT_SHIPPER_MAX_FILE_GIB", "3")
    assert shipper_module.parse_args(base).max_file_gib == 3
