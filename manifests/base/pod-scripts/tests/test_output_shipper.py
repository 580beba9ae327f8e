"""output_shipper.py: copies settled files once, re-copies changed ones, never exposes partial files."""
from __future__ import annotations

import os

import pytest
from conftest import load

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
