"""output_shipper.py: copies settled files once, re-copies changed ones, never exposes partial files."""
from __future__ import annotations

import errno
import io
import json
import os
import re
import signal
import subprocess
import sys

import output_pruner
import output_upload
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


class FakeMountpoint:
    """output_upload's `os` as Mountpoint answers it (awslabs/mountpoint-s3 fs/handles.rs, upload/atomic.rs):
    writes must come in order; any other offset aborts the upload and fails; close completes the upload and
    publishes what was written (here: writes the file), or fails if the upload was aborted. Optionally each
    written byte advances a clock (an upload of bytes_per_second)."""

    def __init__(self, clock=None, bytes_per_second=None):
        self.clock, self.bytes_per_second = clock, bytes_per_second
        self.uploads: dict[int, dict] = {}
        self.published: dict[str, bytes] = {}
        self.events: list[tuple] = []

    def __getattr__(self, name):
        return getattr(os, name)

    def open(self, path, flags, mode=0o777):
        fd = os.open(os.devnull, os.O_WRONLY)  # a real descriptor, so numbers never collide
        self.uploads[fd] = {"path": path, "data": bytearray(), "aborted": False}
        self.events.append(("open", os.path.basename(path)))
        return fd

    def write(self, fd, data):
        upload = self.uploads[fd]
        if upload["aborted"]:
            raise OSError(errno.EIO, "upload already aborted")
        upload["data"] += data
        self.events.append(("write", len(data)))
        if self.clock is not None:
            self.clock.now += len(data) / self.bytes_per_second
        return len(data)

    def pwrite(self, fd, data, offset):
        upload = self.uploads[fd]
        self.events.append(("pwrite", offset))
        if offset != len(upload["data"]):
            upload["aborted"] = True
            raise OSError(errno.EINVAL, "out-of-order write is NOT supported by Mountpoint, aborting the upload")
        upload["data"] += data
        return len(data)

    def close(self, fd):
        upload = self.uploads.pop(fd)
        os.close(fd)
        self.events.append(("close",))
        if upload["aborted"]:
            raise OSError(errno.EIO, "upload already aborted")
        with open(upload["path"], "wb") as target:
            target.write(upload["data"])
        self.published[os.path.basename(upload["path"])] = bytes(upload["data"])


class SourceFailingAfter:
    """output_shipper's `os`, except that a file opened for copying fails to read after `after` bytes."""

    def __init__(self, after: int):
        self.after = after

    def __getattr__(self, name):
        return getattr(os, name)

    def fdopen(self, fd, mode):
        real, limit = os.fdopen(fd, mode), self.after

        class Failing(io.RawIOBase):
            given = 0

            def read(self, size=-1):
                if self.given >= limit:
                    raise OSError(errno.EIO, "Input/output error")
                data = real.read(min(size, limit - self.given))
                self.given += len(data)
                return data

            def fileno(self):
                return real.fileno()

            def close(self):
                real.close()
                super().close()

        return Failing()


def comfyui_next_counter(folder, prefix: str) -> int:
    """ComfyUI v0.8.0 folder_paths.get_save_image_path: the highest counter among `<prefix>_<digits>_` names + 1."""
    counters = [int(m.group(1)) for name in os.listdir(folder) if (m := re.match(re.escape(prefix) + r"_(\d+)_", name))]
    return max(counters, default=0) + 1


def xattrs_supported(path) -> bool:
    probe = path / ".xattr-probe"
    probe.write_bytes(b"")
    try:
        os.setxattr(probe, "user.probe", b"1")
        return True
    except OSError:
        return False
    finally:
        probe.unlink()


@pytest.fixture
def setup(tmp_path):
    clock = Clock()
    source, bucket = tmp_path / "output", tmp_path / "bucket"
    source.mkdir()
    bucket.mkdir()
    return shipper_module.Shipper(str(source), str(bucket / "comfyui-abc"), settle_seconds=10, clock=clock,
                                  wall_clock=clock), source, bucket / "comfyui-abc", clock


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
    clock.now += 11
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
    write(dest / "a.png", b"aaa", clock.now - 50)  # uploaded after the file's last change
    shipper.run_once()
    clock.now += 11
    assert shipper.run_once() == 0 and shipper.shipped


def test_a_failed_copy_is_retried_on_the_next_pass(setup):
    shipper, source, dest, clock = setup
    write(source / "b.png", b"bbb", clock.now - 60)
    dest.write_bytes(b"")  # the destination folder cannot be created: every copy fails, even as root
    shipper.run_once()
    clock.now += 11
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
import importlib.util, os, resource, sys
sys.path.insert(0, os.path.dirname(sys.argv[1]))
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


def test_a_copy_that_grew_past_the_cap_is_aborted_unpublished_and_refused_once_not_retried(tmp_path, monkeypatch,
                                                                                            capsys):
    # Before: the grown copy was closed (published, limit + 1 bytes) and then deleted where the volume allowed;
    # the outputs volume does not, so its first bytes stayed. Now its upload is aborted: nothing is published.
    source, dest = tmp_path / "output", tmp_path / "bucket" / "comfyui-abc"
    write(source / "growing.mp4", b"x" * 8, 1_000)
    shipper = shipper_module.Shipper(str(source), str(dest), settle_seconds=0, max_file_bytes=10)
    mountpoint = FakeMountpoint()

    def grows_while_copied(src, dst, limit, check=None):  # the writer appends while the copy runs
        dst.write(b"x" * (limit + 1))
        return limit + 1

    monkeypatch.setattr(output_upload, "copy_at_most", grows_while_copied)
    monkeypatch.setattr(output_upload, "os", mountpoint)
    assert shipper.run_once(final=True) == 0
    assert shipper.run_once(final=True) == 0
    assert shipper.failures == 0 and mountpoint.published == {}
    assert [event[0] for event in mountpoint.events] == ["open", "write", "pwrite", "close"]
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    refused = [line for line in lines if "grew over the size cap" in line["msg"]]
    assert len(refused) == 1 and "upload aborted" in refused[0]["msg"]


def test_a_copy_stops_one_byte_past_the_size_cap_so_a_growing_file_cannot_stall_it():
    dst = io.BytesIO()
    assert output_upload.copy_at_most(io.BytesIO(b"x" * 100), dst, 10) == 11 and len(dst.getvalue()) == 11
    assert output_upload.copy_at_most(io.BytesIO(b"x" * 10), io.BytesIO(), 10) == 10


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


# --- Models and outputs review (issue 20), item 9: never publish a truncated object ----------------------------
def test_a_copy_whose_source_fails_midway_aborts_the_upload_before_closing_it_and_the_good_object_stays(
        setup, monkeypatch):
    shipper, source, dest, clock = setup
    write(dest / "clip.mp4", b"good old video", clock.now - 50)
    write(source / "clip.mp4", b"re-encoded video", clock.now - 10)  # changed after the upload
    mountpoint = FakeMountpoint()
    monkeypatch.setattr(output_upload, "os", mountpoint)
    monkeypatch.setattr(output_upload, "CHUNK", 4)
    monkeypatch.setattr(shipper_module, "os", SourceFailingAfter(4))
    assert shipper.run_once(final=True) == 0
    # The poison write (one byte past the next offset) comes before the close, so the close completes nothing.
    assert mountpoint.events == [("open", "clip.mp4"), ("write", 4), ("pwrite", 5), ("close",)]
    assert (dest / "clip.mp4").read_bytes() == b"good old video" and mountpoint.published == {}
    assert "clip.mp4" not in shipper.shipped and shipper.failures == 1
    monkeypatch.setattr(shipper_module, "os", os)  # the source reads again: the next pass ships it whole
    assert shipper.run_once(final=True) == 1
    assert (dest / "clip.mp4").read_bytes() == b"re-encoded video"


def test_on_a_local_filesystem_a_failed_copy_leaves_no_file_under_the_final_name(setup, monkeypatch):
    shipper, source, dest, clock = setup
    write(source / "new.png", b"0123456789", clock.now)
    monkeypatch.setattr(output_upload, "CHUNK", 4)
    monkeypatch.setattr(shipper_module, "os", SourceFailingAfter(4))
    assert shipper.run_once(final=True) == 0
    assert not (dest / "new.png").exists() and "new.png" not in shipper.shipped


def test_the_final_pass_ships_small_files_first_and_never_starts_a_copy_that_cannot_finish_in_time(
        setup, monkeypatch, capsys):
    shipper, source, dest, clock = setup
    shipper.throughput = output_upload.Throughput(100)  # bytes per second before any measurement
    write(dest / "big.mp4", b"good" * 10, clock.now - 50)
    for name, size in (("big.mp4", 1000), ("mid.png", 300), ("small.png", 100)):
        write(source / name, b"x" * size, clock.now - 10)
    mountpoint = FakeMountpoint(clock, bytes_per_second=100)
    monkeypatch.setattr(output_upload, "os", mountpoint)
    shipper.begin_shutdown(6)
    assert shipper.run_once(final=True) == 2
    assert [event[1] for event in mountpoint.events if event[0] == "open"] == ["small.png", "mid.png"]
    assert (dest / "big.mp4").read_bytes() == b"good" * 10  # 10 s estimated, 2 s left: not started
    skipped = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "before shutdown" in line]
    assert [entry["msg"] for entry in skipped] == ["not shipped before shutdown: big.mp4, 1000 bytes"]
    assert shipper.not_shipped == 1


def test_a_copy_still_running_at_the_deadline_is_aborted_and_the_good_object_stays(setup, monkeypatch):
    shipper, source, dest, clock = setup
    write(dest / "clip.mp4", b"good old video", clock.now - 50)
    write(source / "clip.mp4", b"x" * 12, clock.now - 10)
    mountpoint = FakeMountpoint(clock, bytes_per_second=4 / 3)  # 3 s a chunk, far slower than estimated
    monkeypatch.setattr(output_upload, "os", mountpoint)
    monkeypatch.setattr(output_upload, "CHUNK", 4)
    shipper.begin_shutdown(5)
    assert shipper.run_once(final=True) == 0
    assert mountpoint.events == [("open", "clip.mp4"), ("write", 4), ("write", 4), ("pwrite", 9), ("close",)]
    assert (dest / "clip.mp4").read_bytes() == b"good old video"
    assert shipper.not_shipped == 1 and shipper.failures == 0


def test_the_estimate_uses_the_throughput_of_recent_large_copies_once_there_are_some():
    throughput = output_upload.Throughput(100)
    assert throughput.seconds_for(1000) == 10
    throughput.record(1000, 100)  # small copies mostly time round trips: not counted
    assert throughput.seconds_for(1000) == 10
    throughput.record(2 * output_upload.MIB, 1)
    throughput.record(2 * output_upload.MIB, 3)
    assert throughput.seconds_for(output_upload.MIB) == 1


# --- item 10: settled by the shipper's own clock, with a short settle time -------------------------------------
def test_settling_is_timed_by_the_shippers_own_clock_not_by_the_files_mtime(setup):
    shipper, source, dest, clock = setup
    write(source / "old_mtime.png", b"png", clock.now - 3600)  # an old mtime does not make it settled
    assert shipper.run_once() == 0
    clock.now += 9
    assert shipper.run_once() == 0
    clock.now += 1
    assert shipper.run_once() == 1


def test_a_file_with_an_mtime_in_the_future_settles_and_ships(setup):
    shipper, source, dest, clock = setup
    write(source / "future.png", b"png", clock.now + 86_400)
    shipper.run_once()
    clock.now += 10
    assert shipper.run_once() == 1


def test_outputs_settle_in_3_seconds_with_a_1_second_poll_and_the_final_pass_has_50_seconds():
    args = shipper_module.parse_args(["--source", "/a", "--bucket-mount", "/b", "--prefix", "p"])
    assert (args.settle_seconds, args.interval_seconds, args.final_pass_seconds) == (3, 1, 50)


# --- item 11: shipped files are pruned to placeholders that keep their names -----------------------------------
def pruning_setup(tmp_path, **options):
    clock = Clock()
    source, dest = tmp_path / "output", tmp_path / "bucket" / "comfyui-abc"
    source.mkdir(parents=True)
    shipper = shipper_module.Shipper(str(source), str(dest), settle_seconds=3, clock=clock, wall_clock=clock,
                                     **options)
    return shipper, source, dest, clock


def ship_all(shipper, clock):
    shipper.run_once()
    clock.now += 4
    shipper.run_once()


def test_a_shipped_file_past_its_retention_becomes_an_empty_placeholder_that_keeps_its_name(tmp_path):
    if not xattrs_supported(tmp_path):
        pytest.skip("this filesystem has no user xattrs (the index fallback is tested below)")
    shipper, source, dest, clock = pruning_setup(tmp_path, keep_local_seconds=3600)
    old, new = source / "ComfyUI_00001_.png", source / "ComfyUI_00002_.png"
    write(old, b"old", clock.now - 7200)
    write(new, b"new", clock.now)
    mtime_ns = old.stat().st_mtime_ns
    ship_all(shipper, clock)
    assert old.stat().st_size == 0 and old.stat().st_mtime_ns == mtime_ns and new.read_bytes() == b"new"
    assert os.getxattr(old, "user.comfyui.shipped") == b"3:%d" % mtime_ns
    assert comfyui_next_counter(source, "ComfyUI") == 3  # ComfyUI still sees the name: no reuse
    clock.now += 100
    shipper.run_once()
    shipper.run_once(final=True)
    restarted = shipper_module.Shipper(str(source), str(dest), settle_seconds=3, clock=clock, wall_clock=clock)
    restarted.run_once(final=True)  # the placeholder is never shipped, also after a restart
    assert (dest / "ComfyUI_00001_.png").read_bytes() == b"old"


def test_where_xattrs_are_refused_pruned_files_are_recorded_in_a_hidden_index(tmp_path, monkeypatch):
    class NoXattrs:
        def __getattr__(self, name):
            return getattr(os, name)

        def setxattr(self, *args, **kwargs):
            raise OSError(errno.ENOTSUP, "Operation not supported")

        getxattr = setxattr

    monkeypatch.setattr(output_pruner, "os", NoXattrs())
    shipper, source, dest, clock = pruning_setup(tmp_path, keep_local_seconds=0)
    write(source / "a.png", b"aaa", clock.now - 10)
    ship_all(shipper, clock)
    assert (source / "a.png").stat().st_size == 0
    index = json.loads((source / ".output-shipper" / "pruned.json").read_text())
    assert index == {"a.png": "3:%d" % (source / "a.png").stat().st_mtime_ns}
    restarted = shipper_module.Shipper(str(source), str(dest), settle_seconds=3, clock=clock, wall_clock=clock)
    restarted.run_once(final=True)
    assert sorted(os.listdir(dest)) == ["a.png"] and (dest / "a.png").read_bytes() == b"aaa"


def test_over_the_limit_shipped_files_are_pruned_oldest_first_and_unshipped_or_refused_ones_never(
        tmp_path, capsys):
    shipper, source, dest, clock = pruning_setup(tmp_path, local_limit_bytes=1, max_file_bytes=100)
    for age, name in ((30, "b.png"), (50, "a.png"), (10, "c.png")):
        write(source / name, b"x" * 50, clock.now - age)
    write(source / "huge.mp4", b"x" * 200, clock.now - 60)  # refused: over the size cap, never in the bucket
    ship_all(shipper, clock)
    write(source / "pending.png", b"x" * 50, clock.now)  # not settled, not shipped
    shipper.run_once()
    pruned = [json.loads(line)["file"] for line in capsys.readouterr().out.splitlines() if '"pruned"' in line]
    assert pruned == ["a.png", "b.png", "c.png"]
    assert (source / "huge.mp4").stat().st_size == 200 and (source / "pending.png").stat().st_size == 50


def test_pruning_takes_the_oldest_first_until_the_outputs_fit_and_everything_past_the_retention():
    candidates = [(300, "c", 10), (100, "a", 10), (200, "b", 10), (400, "d", 10)]
    assert output_pruner.choose_prunable(candidates, 30, 15, now_ns=1000, keep_ns=10_000) == ["a", "b"]
    assert output_pruner.choose_prunable(candidates, 30, 100, now_ns=1000, keep_ns=750) == ["a", "b"]
    assert output_pruner.choose_prunable(candidates, 30, 100, now_ns=1000, keep_ns=10_000) == []


def test_local_usage_is_logged_as_one_json_line_per_interval(tmp_path, capsys):
    shipper, source, dest, clock = pruning_setup(tmp_path, usage_log_seconds=60)
    write(source / "a.png", b"x" * 5000, clock.now)
    shipper.run_once()
    clock.now += 30
    shipper.run_once()
    clock.now += 31
    shipper.run_once()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    usage = [line for line in lines if line["msg"] == "local usage"]
    assert len(usage) == 2
    assert usage[0]["output_files"] == 1 and usage[0]["output_bytes"] >= 5000 and usage[0]["unshipped_files"] == 1
    assert usage[1]["unshipped_files"] == 0 and usage[1]["volume_free_bytes"] > 0
    assert {"pruned_placeholders", "limit_bytes", "over_limit", "volume_size_bytes"} <= set(usage[0])


def test_the_last_measurement_is_also_a_json_file_in_the_hidden_folder_for_metrics(tmp_path, capsys):
    shipper, source, dest, clock = pruning_setup(tmp_path, usage_log_seconds=60)
    write(source / "a.png", b"x" * 5000, clock.now)
    ship_all(shipper, clock)
    clock.now += 61
    shipper.run_once()
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    last = [line for line in logged if line["msg"] == "local usage"][-1]
    written = json.loads((source / ".output-shipper" / shipper_module.USAGE_FILE).read_text())
    assert written["measured_at"] == clock.now
    assert {k: v for k, v in written.items() if k != "measured_at"} == {
        k: v for k, v in last.items() if k not in ("msg", "time")}
    # The state folder is hidden: neither the file nor its temporary twin is ever shipped.
    assert sorted(p.name for p in dest.rglob("*") if p.is_file()) == ["a.png"]


# --- item 12: after a restart, size and mtime decide whether the bucket already has a file --------------------
def test_after_a_restart_a_same_size_file_modified_after_its_upload_is_shipped_again(setup):
    shipper, source, dest, clock = setup
    write(dest / "a.png", b"old", clock.now - 100)  # uploaded before the file was rewritten
    write(source / "a.png", b"new", clock.now - 60)
    shipper.run_once()
    clock.now += 11
    assert shipper.run_once() == 1
    assert (dest / "a.png").read_bytes() == b"new"


def test_run_as_the_pod_runs_it_sigterm_starts_a_final_pass_that_ships_unsettled_files(tmp_path):
    # As the Deployment runs it: python3 <script> with its helper modules beside it, no sys.path help.
    source, mount = tmp_path / "output", tmp_path / "bucket"
    write(source / "last.png", b"fresh", 1_000)
    mount.mkdir()
    process = subprocess.Popen([sys.executable, str(SCRIPTS / "output_shipper.py"), "--source", str(source),
                                "--bucket-mount", str(mount), "--prefix", "comfyui-abc", "--settle-seconds", "3600",
                                "--final-pass-seconds", "30"], stdout=subprocess.PIPE, text=True,
                               env={"PATH": os.environ.get("PATH", "")})
    try:
        # The first pass is over once usage is logged; nothing has settled yet.
        assert any(json.loads(line)["msg"] == "local usage" for line in process.stdout)
        process.send_signal(signal.SIGTERM)
        rest = [json.loads(line) for line in process.stdout]
        assert process.wait(timeout=20) == 0
    finally:
        process.kill()
    assert (mount / "comfyui-abc" / "last.png").read_bytes() == b"fresh"
    assert rest[-1]["msg"] == "final pass done" and rest[-1]["copied"] == 1


def test_the_job_runners_files_are_never_shipped_and_are_removed_with_their_folders_after_an_hour(setup):
    shipper, source, dest, clock = setup
    write(source / "jobs" / "j1" / "portraits" / "cat_00001_.png", b"job", clock.now)
    write(source / "ComfyUI_00001_.png", b"png", clock.now)
    (source / "jobs" / "j2").mkdir()  # ComfyUI made it to save into, a moment ago
    for folder in ("jobs/j1/portraits", "jobs/j1", "jobs/j2"):
        os.utime(source / folder, (clock.now, clock.now))
    shipper.run_once()  # first sight
    clock.now += 11
    assert shipper.run_once() == 1 and sorted(os.listdir(dest)) == ["ComfyUI_00001_.png"]
    # The runner's files still count against the pod's storage (beside the output and our usage file).
    assert shipper.usage["files"] == 3
    clock.now += output_pruner.JOBS_KEEP_LOCAL_SECONDS - 12
    shipper.run_once()
    assert (source / "jobs" / "j1" / "portraits" / "cat_00001_.png").exists()  # not an hour yet
    clock.now += 2
    os.utime(source / "jobs" / "j2", (clock.now, clock.now))  # written to just now: kept
    shipper.run_once()
    assert sorted(os.listdir(source / "jobs")) == ["j2"] and (source / "ComfyUI_00001_.png").exists()
    assert not (dest / "jobs").exists()


def test_the_jobs_folder_is_the_one_the_job_runner_saves_into():
    contract = json.loads((SCRIPTS.parents[2] / "comfyui_image" / "jobs_contract.json").read_text())
    assert output_pruner.JOBS_DIR == contract["localOutputSubfolder"]
