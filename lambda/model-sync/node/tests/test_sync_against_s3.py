"""sync_models.py against a real S3 API (moto server on loopback), run as a subprocess like on a node."""
from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
import requests
from conftest import CREDENTIALS, FakeImds, script_args, sync_command, sync_env
from model_sync import cli, fetch, sync
from model_sync.outcome import EXIT_NO_SPACE, SyncError

KEYS = {
    "checkpoints/sd xl base.safetensors": b"base" * 1000,
    "checkpoints/sub/plus+sign é 日本.safetensors": b"unicode",
    "loras/glob*?[1].pt": b"glob",
    "vae/nested/dir/v.pt": b"vae",
    "codebuild/artifact.zip": b"not a model",  # outside the model folders: never copied
}


def put(s3, bucket, objects):
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)


def post_object(s3, bucket: str, key: str, body: bytes) -> None:
    """A browser-style POST upload: the key travels in the form, so it may hold a line break, which moto's
    router refuses in the URL path of a PutObject (S3 itself takes either)."""
    form = s3.generate_presigned_post(bucket, key)
    response = requests.post(form["url"], data=form["fields"], files={"file": ("body", body)}, timeout=30)
    assert response.status_code == 204, response.text


def cached_files(data_dir: Path) -> dict:
    models = data_dir / "models"
    return {p.relative_to(models).as_posix(): p.read_bytes() for p in models.rglob("*") if p.is_file()}


def status(data_dir: Path) -> dict:
    return json.loads((data_dir / "model-sync" / "status.json").read_text(encoding="utf-8"))


def keys_arg(keys) -> list:
    return ["--keys-b64", base64.b64encode(json.dumps(list(keys)).encode()).decode()]


def test_initial_sync_mirrors_the_model_folders_and_marks_the_node_ready(s3, bucket, run_sync, tmp_path):
    put(s3, bucket, KEYS)
    result = run_sync()
    assert result.returncode == 0, result.stdout
    cache = tmp_path / "cache"
    expected = {k: v for k, v in KEYS.items() if not k.startswith("codebuild/")}
    assert cached_files(cache) == expected
    assert (cache / "model-sync" / "ready").is_file()
    st = status(cache)
    assert st["state"] == "ok" and st["objects"] == 4 and st["bytes"] == sum(map(len, expected.values()))
    assert st["errors"] == [] and st["last_success"]
    assert "progress: 4/4 files" in result.stdout


def test_a_second_run_downloads_nothing(s3, bucket, run_sync, tmp_path):
    put(s3, bucket, {"loras/a.pt": b"a"})
    assert run_sync().returncode == 0
    result = run_sync()
    assert result.returncode == 0
    assert "0 to download" in result.stdout and status(tmp_path / "cache")["downloaded"] == 0


def test_incremental_keys_add_replace_and_delete_only_what_changed(s3, bucket, run_sync, tmp_path):
    put(s3, bucket, {"loras/keep.pt": b"keep", "loras/replace.pt": b"old", "loras/remove me.pt": b"bye"})
    assert run_sync().returncode == 0
    put(s3, bucket, {"loras/new one.pt": b"new", "loras/replace.pt": b"new content", "loras/not-told.pt": b"x"})
    s3.delete_object(Bucket=bucket, Key="loras/remove me.pt")
    result = run_sync(*keys_arg(["loras/new one.pt", "loras/replace.pt", "loras/remove me.pt"]))
    assert result.returncode == 0, result.stdout
    assert cached_files(tmp_path / "cache") == {
        "loras/keep.pt": b"keep", "loras/new one.pt": b"new", "loras/replace.pt": b"new content"}
    st = status(tmp_path / "cache")
    assert (st["mode"], st["downloaded"], st["deleted"]) == ("keys", 2, 1)


def test_full_sync_deletes_files_whose_objects_are_gone_and_prunes_empty_folders(s3, bucket, run_sync, tmp_path):
    put(s3, bucket, {"checkpoints/a/b/deep.pt": b"d", "checkpoints/top.pt": b"t"})
    assert run_sync().returncode == 0
    s3.delete_object(Bucket=bucket, Key="checkpoints/a/b/deep.pt")
    stray = tmp_path / "cache" / "models" / "loras" / "copied-by-hand.pt"
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"stray")
    assert run_sync().returncode == 0
    models = tmp_path / "cache" / "models"
    assert cached_files(tmp_path / "cache") == {"checkpoints/top.pt": b"t"}
    assert not (models / "checkpoints" / "a").exists() and (models / "checkpoints").is_dir()


def test_an_emptied_bucket_empties_the_cache(s3, bucket, run_sync, tmp_path):
    put(s3, bucket, {"loras/a.pt": b"a"})
    assert run_sync().returncode == 0
    s3.delete_object(Bucket=bucket, Key="loras/a.pt")
    result = run_sync()
    assert result.returncode == 0, result.stdout
    assert cached_files(tmp_path / "cache") == {}


def test_models_that_do_not_fit_fail_before_anything_changes(s3, bucket, run_sync, tmp_path):
    put(s3, bucket, {"loras/old.pt": b"old"})
    assert run_sync().returncode == 0
    put(s3, bucket, {"checkpoints/huge.safetensors": os.urandom(1024 * 1024)})
    s3.delete_object(Bucket=bucket, Key="loras/old.pt")
    disk = os.statvfs(tmp_path)
    free_gib = disk.f_bavail * disk.f_frsize / 1024 ** 3
    # A GiB more than is free now: the 1 MiB model cannot fit even if other processes free some space meanwhile.
    result = run_sync("--reserve-gib", str(free_gib + 1))
    assert result.returncode == 3, result.stdout
    assert "the models do not fit" in result.stdout and "more instance store" in result.stdout
    assert cached_files(tmp_path / "cache") == {"loras/old.pt": b"old"}  # nothing deleted, nothing added
    st = status(tmp_path / "cache")
    assert st["state"] == "failed" and "do not fit" in st["errors"][0]


def pretend_array(monkeypatch, data_dir: Path, size: int, free: int) -> None:
    """Makes statvfs report `size` bytes with `free` available for everything under data_dir."""
    real = os.statvfs

    def statvfs(path):
        if not os.fspath(path).startswith(str(data_dir)):
            return real(path)
        return SimpleNamespace(f_frsize=4096, f_blocks=size // 4096, f_bavail=free // 4096)
    monkeypatch.setattr(os, "statvfs", statvfs)


def test_a_sync_that_would_fill_a_large_array_past_kubelets_eviction_threshold_changes_nothing(
        s3, bucket, s3_endpoint, tmp_path, monkeypatch):
    # A g5.12xlarge's 3.8 TB array with 700 GB free: a 30 GiB reserve would let 1 MiB more in, but kubelet
    # evicts below 15 % free, so the node's default keeps 20 % (760 GB) free and refuses.
    gb = 1000 ** 3
    put(s3, bucket, {"checkpoints/new.safetensors": os.urandom(1024 * 1024)})
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    cache = tmp_path / "cache"
    args = cli.parse_args(script_args(bucket, cache, s3_endpoint))  # the node's defaults: no reserve flags
    pretend_array(monkeypatch, cache, size=3800 * gb, free=700 * gb)
    with pytest.raises(SyncError) as error:
        sync.sync(args)
    assert error.value.exit_code == EXIT_NO_SPACE
    assert "the models do not fit" in str(error.value) and "707.8 GiB kept free" in str(error.value)
    assert cached_files(cache) == {}
    assert status(cache)["state"] == "failed"

    pretend_array(monkeypatch, cache, size=3800 * gb, free=761 * gb)  # 20 % stays free once it lands
    assert sync.sync(args)["downloaded"] == 1
    assert list(cached_files(cache)) == ["checkpoints/new.safetensors"]


def test_an_interrupted_download_never_exposes_a_partial_file(s3, bucket, s3_endpoint, slow_endpoint, run_sync,
                                                                tmp_path):
    body = os.urandom(24 * 1024 * 1024)  # ~6 s through the 4 MiB/s proxy
    put(s3, bucket, {"checkpoints/big.safetensors": body})
    cache = tmp_path / "cache"
    proc = subprocess.Popen(sync_command(bucket, cache, slow_endpoint, "--part-concurrency", "1"), env=sync_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    staging = cache / "model-sync" / "staging"
    deadline = time.monotonic() + 30
    while not any(p.is_file() and p.name != "commands.txt" and p.stat().st_size > 0 for p in staging.rglob("*")):
        assert time.monotonic() < deadline, "download never started"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)  # no chance to clean up: the worst case
    proc.wait(timeout=10)
    assert not (cache / "models" / "checkpoints" / "big.safetensors").exists()
    assert not (cache / "model-sync" / "ready").exists()
    result = run_sync()
    assert result.returncode == 0, result.stdout
    assert cached_files(cache) == {"checkpoints/big.safetensors": body}
    assert [p for p in staging.rglob("*") if p.is_file()] == []


def test_sigterm_stops_the_run_and_records_why(s3, bucket, slow_endpoint, tmp_path):
    put(s3, bucket, {"checkpoints/big.safetensors": os.urandom(16 * 1024 * 1024)})
    cache = tmp_path / "cache"
    proc = subprocess.Popen(sync_command(bucket, cache, slow_endpoint), env=sync_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    time.sleep(1.5)
    proc.terminate()
    assert proc.wait(timeout=20) == 128 + signal.SIGTERM
    st = status(cache)
    assert st["state"] == "failed" and "interrupted" in st["errors"][0]
    assert not (cache / "models" / "checkpoints" / "big.safetensors").exists()


def test_two_overlapping_runs_are_serialized_and_both_succeed(s3, bucket, slow_endpoint, tmp_path):
    body = os.urandom(8 * 1024 * 1024)
    put(s3, bucket, {"checkpoints/a.safetensors": body, "loras/b.pt": b"b"})
    cache = tmp_path / "cache"
    procs = [subprocess.Popen(sync_command(bucket, cache, slow_endpoint), env=sync_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert any("another sync is running" in out for out in outputs)
    assert sum("2 to download" in out for out in outputs) == 1  # the second found the work done
    assert cached_files(cache) == {"checkpoints/a.safetensors": body, "loras/b.pt": b"b"}


def test_a_keys_run_before_the_first_full_sync_does_not_mark_the_node_ready(s3, bucket, run_sync, tmp_path):
    put(s3, bucket, {"loras/a.pt": b"a"})
    assert run_sync(*keys_arg(["loras/a.pt"])).returncode == 0
    assert not (tmp_path / "cache" / "model-sync" / "ready").exists()
    assert cached_files(tmp_path / "cache") == {"loras/a.pt": b"a"}


def test_clear_errors_for_a_missing_s5cmd_a_missing_mount_and_a_missing_bucket(s3_endpoint, run_sync, tmp_path):
    result = run_sync("--s5cmd", str(tmp_path / "nope"))
    assert result.returncode == 2 and "s5cmd not found" in result.stdout
    result = run_sync("--reserve-percent", "100")
    assert result.returncode == 2 and "--reserve-percent must be 0..99" in result.stdout
    result = run_sync("--require-mount", str(tmp_path), "--mount-wait-seconds", "0")
    assert result.returncode == 5 and "is not mounted" in result.stdout and "RAID0" in result.stdout
    result = subprocess.run(sync_command("no-such-bucket", tmp_path / "c2", s3_endpoint), env=sync_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    assert result.returncode == 1 and "listing s3://no-such-bucket/* failed: NoSuchBucket" in result.stdout
    assert status(tmp_path / "c2")["state"] == "failed"


def in_process_args(monkeypatch, bucket: str, cache: Path, endpoint: str):
    """Arguments for sync.sync() in this process (to hook into a run), with the test bucket's credentials."""
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    return cli.parse_args(script_args(bucket, cache, endpoint) + ["--reserve-gib", "0", "--reserve-percent", "0"])


def outside(root: Path, cache: Path) -> list:
    """Files under root but not under cache."""
    return [p for p in root.rglob("*") if p.is_file() and cache not in p.parents]


def test_a_key_added_after_the_listing_is_not_copied_even_with_dot_dot_segments(
        s3, bucket, s3_endpoint, tmp_path, monkeypatch):
    # Upstream s5cmd issue #872: a wildcard copy lists the bucket again and writes `..` keys outside its
    # destination. Six `..` from staging/run-*/tree/checkpoints reach tmp_path, outside the cache.
    put(s3, bucket, {"checkpoints/a.safetensors": b"a", "loras/b.pt": b"b"})
    evil = "checkpoints/" + "../" * 6 + "escaped.txt"
    listed = sync.list_remote

    def list_then_add_a_key(*args, **kwargs):
        result = listed(*args, **kwargs)
        s3.put_object(Bucket=bucket, Key=evil, Body=b"written by whoever can write the bucket")
        return result
    monkeypatch.setattr(sync, "list_remote", list_then_add_a_key)
    cache = tmp_path / "cache"
    args = in_process_args(monkeypatch, bucket, cache, s3_endpoint)
    try:
        outcome = sync.sync(args)["downloaded"]
    except SyncError as error:
        outcome = error
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]].count(evil) == 1  # it was there
    assert outside(tmp_path, cache) == []
    assert outcome == 2
    assert cached_files(cache) == {"checkpoints/a.safetensors": b"a", "loras/b.pt": b"b"}

    # The next full sync lists it and refuses it: reported, nothing written, the node still ready.
    monkeypatch.setattr(sync, "list_remote", listed)
    st = sync.sync(args)
    assert st["state"] == "ok" and st["refused"] == ["%r: has an empty, '.' or '..' path segment" % evil]
    assert outside(tmp_path, cache) == []


def test_a_key_with_a_line_break_is_refused_and_holds_back_no_other_key(s3, bucket, run_sync, tmp_path):
    put(s3, bucket, {"loras/z.pt": b"z"})
    assert run_sync().returncode == 0
    # Sorted first, so a run file that broke at its line would never reach the others.
    post_object(s3, bucket, "loras/a\nb.pt", b"newline")
    put(s3, bucket, {"loras/b.pt": b"b", "loras/c.pt": b"c"})
    result = run_sync()
    assert result.returncode == 0, result.stdout
    cache = tmp_path / "cache"
    assert cached_files(cache) == {"loras/b.pt": b"b", "loras/c.pt": b"c", "loras/z.pt": b"z"}
    st = status(cache)
    assert st["state"] == "ok" and st["errors"] == []
    assert st["refused"] == ["'loras/a\\nb.pt': contains a control character or line break"]
    assert "refused 1 keys that cannot be files below models/ (rename them in the bucket): 'loras/a\\nb.pt'" \
        in result.stdout  # escaped: the key cannot forge a log line
    assert (cache / "model-sync" / "ready").is_file()


def test_keys_with_shell_characters_are_copied_literally(s3, bucket, run_sync, tmp_path):
    odd = {"loras/it's \"q\" $(touch pwned) `id` ; \\ & | > x.pt": b"shell", "loras/-rf.pt": b"dash",
           "loras/*.pt": b"star", "loras/sub/[ab]?.pt": b"glob"}
    put(s3, bucket, {**odd, "loras/a.pt": b"a", "loras/ab.pt": b"ab"})
    assert run_sync().returncode == 0
    put(s3, bucket, {"loras/keep.pt": b"k"})  # a cached folder: the others are per-key copies either way
    result = run_sync()
    assert result.returncode == 0, result.stdout
    assert cached_files(tmp_path / "cache") == {**odd, "loras/a.pt": b"a", "loras/ab.pt": b"ab", "loras/keep.pt": b"k"}
    assert not list(tmp_path.rglob("pwned")) and not (Path.cwd() / "pwned").exists()


def test_objects_larger_than_a_part_are_copied_by_s5cmd_in_parts_and_small_ones_fetched(s3, bucket, run_sync,
                                                                                        tmp_path):
    big = os.urandom(3 * 1024 * 1024 + 5)
    objects = {"checkpoints/big 'one'.safetensors": big, "checkpoints/glob*.pt": b"glob", "loras/small.pt": b"s"}
    put(s3, bucket, objects)
    result = run_sync("--part-size-mib", "1")
    assert result.returncode == 0, result.stdout
    assert cached_files(tmp_path / "cache") == objects
    assert "progress: 3/3 files" in result.stdout


def test_a_failed_fetch_fails_that_key_alone_without_the_url_in_the_error(s3, bucket, s3_endpoint, tmp_path,
                                                                          monkeypatch):
    put(s3, bucket, {"loras/a.pt": b"a", "loras/b.pt": b"b"})
    fetch_object = fetch.fetch_object
    monkeypatch.setattr(fetch, "fetch_object",
                        lambda url, dest: ("HTTP 403 Forbidden", None) if "b.pt" in url else fetch_object(url, dest))
    cache = tmp_path / "cache"
    args = in_process_args(monkeypatch, bucket, cache, s3_endpoint)
    with pytest.raises(SyncError) as error:
        sync.sync(args)
    assert "1 of 2 downloads failed; first: loras/b.pt: HTTP 403 Forbidden" in str(error.value)
    assert cached_files(cache) == {"loras/a.pt": b"a"}
    assert "X-Amz-Signature" not in json.dumps(status(cache))


def test_zero_byte_objects_sync_like_any_other(s3, bucket, run_sync, tmp_path):
    # ComfyUI's own placeholders (models/checkpoints/put_checkpoints_here) are empty files, so
    # `aws s3 sync ComfyUI/models s3://...` uploads some; `s5cmd ls --json` leaves "size" out for them.
    put(s3, bucket, {"checkpoints/put_checkpoints_here": b"", "loras/empty.pt": b"", "loras/a.pt": b"a"})
    result = run_sync()
    assert result.returncode == 0, result.stdout
    cache = tmp_path / "cache"
    assert cached_files(cache) == {"checkpoints/put_checkpoints_here": b"", "loras/empty.pt": b"", "loras/a.pt": b"a"}
    assert (cache / "model-sync" / "ready").is_file()
    assert "0 to download" in run_sync().stdout  # and recorded, so not fetched again


UNPLACEABLE = {
    "loras/foo": b"a file where other keys need a folder",
    "loras/" + "x" * 256 + ".pt": b"name too long",
}


def test_unplaceable_keys_are_refused_one_by_one_and_the_node_still_becomes_ready(s3, bucket, run_sync, tmp_path):
    put(s3, bucket, {**UNPLACEABLE, "loras/foo/bar.pt": b"bar", "loras/ok.pt": b"ok"})
    s3.put_object(Bucket=bucket, Key="checkpoints/cold.safetensors", Body=b"cold", StorageClass="DEEP_ARCHIVE")
    result = run_sync()
    assert result.returncode == 0, result.stdout
    cache = tmp_path / "cache"
    assert cached_files(cache) == {"loras/foo/bar.pt": b"bar", "loras/ok.pt": b"ok"}
    assert (cache / "model-sync" / "ready").is_file()
    st = status(cache)
    assert st["state"] == "ok" and st["errors"] == []
    assert [line.split(":")[0] for line in st["refused"]] == sorted(
        repr(k) for k in ["checkpoints/cold.safetensors", "loras/foo", "loras/" + "x" * 256 + ".pt"])
    assert any("archived in DEEP_ARCHIVE" in line and "--storage-class STANDARD" in line for line in st["refused"])
    assert any("is also the folder of 'loras/foo/bar.pt'" in line for line in st["refused"])


def test_a_key_that_turns_a_synced_file_into_a_folder_replaces_it_in_a_keys_run(s3, bucket, run_sync, tmp_path):
    put(s3, bucket, {"loras/foo": b"old file"})
    assert run_sync().returncode == 0
    put(s3, bucket, {"loras/foo/bar.pt": b"bar"})
    result = run_sync(*keys_arg(["loras/foo/bar.pt"]))
    assert result.returncode == 0, result.stdout
    assert cached_files(tmp_path / "cache") == {"loras/foo/bar.pt": b"bar"}
    result = run_sync()  # the next full sync reports the clash and changes nothing
    assert result.returncode == 0 and "0 to download" in result.stdout and "0 to delete" in result.stdout
    assert status(tmp_path / "cache")["refused"][0].startswith("'loras/foo': is also the folder of")


def test_a_folder_in_the_way_of_a_file_refuses_that_key_alone(s3, bucket, run_sync, tmp_path):
    put(s3, bucket, {"loras/a.pt": b"a"})
    assert run_sync().returncode == 0
    in_the_way = tmp_path / "cache" / "models" / "loras" / "b.pt"
    (in_the_way / "sub").mkdir(parents=True)  # a folder (no files: nothing a full sync would delete)
    put(s3, bucket, {"loras/b.pt": b"b", "loras/c.pt": b"c"})
    result = run_sync(*keys_arg(["loras/b.pt", "loras/c.pt"]))
    assert result.returncode == 0, result.stdout
    assert cached_files(tmp_path / "cache") == {"loras/a.pt": b"a", "loras/c.pt": b"c"}
    assert status(tmp_path / "cache")["refused"] == ["'loras/b.pt': cannot be placed: Is a directory"]


def test_an_object_whose_get_says_it_is_archived_is_refused_through_either_download_path(
        s3, bucket, s3_endpoint, tmp_path, monkeypatch):
    # Intelligent-Tiering's archive tiers list as INTELLIGENT_TIERING and answer the GET with InvalidObjectState;
    # moto archives only GLACIER objects, so the listing is made to let them through.
    from model_sync import listing
    monkeypatch.setattr(listing, "storage_class_problem", lambda storage_class: None)
    big = os.urandom(2 * 1024 * 1024)
    for key, body in {"loras/small.pt": b"s", "checkpoints/big.safetensors": big}.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body, StorageClass="GLACIER")
    put(s3, bucket, {"loras/ok.pt": b"ok"})
    cache = tmp_path / "cache"
    args = in_process_args(monkeypatch, bucket, cache, s3_endpoint)
    args.part_size_mib = 1  # big.safetensors goes through s5cmd, small.pt by presigned GET
    st = sync.sync(args)
    assert st["state"] == "ok" and cached_files(cache) == {"loras/ok.pt": b"ok"}
    assert sorted(line.split(":")[0] for line in st["refused"]) == ["'checkpoints/big.safetensors'", "'loras/small.pt'"]
    assert all("is archived (InvalidObjectState)" in line for line in st["refused"])


def test_an_unexpected_error_while_placing_fails_that_key_keeps_the_others_and_writes_manifest_and_status(
        s3, bucket, s3_endpoint, tmp_path, monkeypatch):
    from model_sync.cache import Cache
    put(s3, bucket, {"loras/a.pt": b"a", "loras/b.pt": b"b"})
    place = Cache.place

    def place_or_break(self, staged, key):
        if key == "loras/b.pt":
            raise RuntimeError("a bug")
        place(self, staged, key)
    monkeypatch.setattr(Cache, "place", place_or_break)
    cache = tmp_path / "cache"
    with pytest.raises(SyncError) as error:
        sync.sync(in_process_args(monkeypatch, bucket, cache, s3_endpoint))
    assert "1 of 2 downloads failed; first: loras/b.pt: a bug" in str(error.value)
    manifest = json.loads((cache / "model-sync" / "manifest.json").read_text())
    assert list(manifest) == ["loras/a.pt"] and status(cache)["state"] == "failed"


def wait_until(what: str, check, seconds: float = 60.0):
    """Polls check() until it is true; the bound is against hangs, never a pass mark."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "never happened: " + what
        time.sleep(0.02)


def test_a_killed_run_is_reported_as_killed_and_the_next_one_keeps_what_it_placed(s3, bucket, holding_proxy,
                                                                                   run_sync, tmp_path):
    put(s3, bucket, {"loras/a.pt": b"a", "loras/b.pt": b"b", "loras/c.pt": b"c", "loras/d.pt": b"d"})
    proxy = holding_proxy(b"/loras/c.pt?")  # the third GET waits; one fetch thread takes them in order
    cache = tmp_path / "cache"
    proc = subprocess.Popen(sync_command(bucket, cache, proxy.url, "--workers", "1"), env=sync_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until("c.pt requested", proxy.held.is_set)
        assert set(cached_files(cache)) == {"loras/a.pt", "loras/b.pt"}
        running = status(cache)  # written as the run goes: state, pid, progress
        assert running["state"] == "running" and running["pid"] == proc.pid and running["mode"] == "full"
        assert running["progress"]["total_files"] == 4 and running["progress"]["files"] >= 1
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert status(cache)["state"] == "running"  # nobody could say otherwise: the next run does

    result = run_sync()
    assert result.returncode == 0, result.stdout
    assert "the previous run (pid %d, full sync since" % proc.pid in result.stdout
    assert "was killed before it finished" in result.stdout
    assert "2 to download" in result.stdout  # a.pt and b.pt were recorded as they were placed
    st = status(cache)
    assert st["previous_run"]["state"] == "killed" and st["previous_run"]["pid"] == proc.pid
    assert st["state"] == "ok" and "pid" not in st
    assert cached_files(cache) == {"loras/a.pt": b"a", "loras/b.pt": b"b", "loras/c.pt": b"c", "loras/d.pt": b"d"}


def manifest_of(data_dir: Path) -> dict:
    return json.loads((data_dir / "model-sync" / "manifest.json").read_text(encoding="utf-8"))


def test_a_model_replaced_while_its_parts_download_is_fetched_again_never_placed_mixed(s3, bucket, hook_proxy,
                                                                                       run_sync, tmp_path):
    mib = 1024 * 1024
    old, new = b"o" * (3 * mib), b"n" * (3 * mib)  # same size: only the ETag tells them apart
    key = "checkpoints/big.safetensors"
    put(s3, bucket, {key: old})
    ranged_gets = []

    def replace_before_the_second_part(data: bytes) -> None:
        if data.startswith(b"GET /%s/%s" % (bucket.encode(), key.encode())) and b"\r\nrange:" in data.lower():
            ranged_gets.append(data)
            if len(ranged_gets) == 2:
                s3.put_object(Bucket=bucket, Key=key, Body=new)
    endpoint = hook_proxy(replace_before_the_second_part)
    # 1 MiB parts, one at a time: part 1 of the old version, parts 2 and 3 of the new one.
    result = run_sync("--part-size-mib", "1", "--part-concurrency", "1", endpoint=endpoint)
    assert result.returncode == 0, result.stdout
    cache = tmp_path / "cache"
    assert cached_files(cache)[key] == new  # not b"o" * mib + b"n" * (2 * mib)
    assert "1 objects changed while they downloaded ('%s'); fetching their new versions" % key in result.stdout
    assert len(ranged_gets) >= 3 + 3  # the mixed copy, then the whole new version
    assert manifest_of(cache)[key]["etag"] == s3.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')


def test_a_small_model_replaced_after_the_listing_is_placed_as_fetched_and_recorded_so(s3, bucket, s3_endpoint,
                                                                                      tmp_path, monkeypatch):
    put(s3, bucket, {"loras/a.pt": b"old"})
    listed = sync.list_remote

    def list_then_replace(*args, **kwargs):
        result = listed(*args, **kwargs)
        s3.put_object(Bucket=bucket, Key="loras/a.pt", Body=b"a newer and longer version")
        return result
    monkeypatch.setattr(sync, "list_remote", list_then_replace)
    cache = tmp_path / "cache"
    args = in_process_args(monkeypatch, bucket, cache, s3_endpoint)
    assert sync.sync(args)["state"] == "ok"
    assert cached_files(cache) == {"loras/a.pt": b"a newer and longer version"}
    head = s3.head_object(Bucket=bucket, Key="loras/a.pt")
    assert manifest_of(cache)["loras/a.pt"] == {"etag": head["ETag"].strip('"'), "size": head["ContentLength"]}
    monkeypatch.setattr(sync, "list_remote", listed)
    assert sync.sync(args)["downloaded"] == 0  # the version it holds is the one the bucket holds


def test_a_large_model_deleted_while_it_downloads_is_not_placed(s3, bucket, s3_endpoint, tmp_path, monkeypatch):
    put(s3, bucket, {"checkpoints/big.safetensors": os.urandom(2 * 1024 * 1024), "loras/a.pt": b"a"})
    cache = tmp_path / "cache"
    args = in_process_args(monkeypatch, bucket, cache, s3_endpoint)
    args.part_size_mib = 1
    head = sync.head_object

    def deleted_meanwhile(endpoint, region, credentials, bucket_name, key):
        s3.delete_object(Bucket=bucket_name, Key=key)
        return head(endpoint, region, credentials, bucket_name, key)
    monkeypatch.setattr(sync, "head_object", deleted_meanwhile)
    st = sync.sync(args)
    assert st["state"] == "ok" and cached_files(cache) == {"loras/a.pt": b"a"}


def queued(cache: Path) -> list:
    return sorted(p.name for p in (cache / "model-sync" / "queue").glob("*.json"))


def start_sync(bucket, cache, endpoint, *extra):
    return subprocess.Popen(sync_command(bucket, cache, endpoint, *extra), env=sync_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def test_a_change_notified_while_a_long_sync_runs_is_applied_even_if_its_run_stops_waiting(
        s3, bucket, holding_proxy, run_sync, tmp_path):
    put(s3, bucket, {"loras/a.pt": b"a"})
    proxy = holding_proxy(b"/loras/a.pt?")
    cache = tmp_path / "cache"
    boot = start_sync(bucket, cache, proxy.url)  # the first sync: it has listed and is downloading
    try:
        wait_until("the boot sync downloads", proxy.held.is_set)
        put(s3, bucket, {"loras/new.pt": b"new"})  # after the boot sync's listing
        late = run_sync(*keys_arg(["loras/new.pt"]), "--lock-timeout-seconds", "0")  # its SSM run gives up
        assert late.returncode == 4, late.stdout
        assert "this request stays queued, and that sync (or the next) runs it before it ends" in late.stdout
        assert len(queued(cache)) == 2  # the boot sync's own request and the keys run's
        proxy.release()
        out = boot.communicate(timeout=120)[0]
    finally:
        boot.kill()
    assert boot.returncode == 0, out
    assert "keys sync of s3://%s: 2 objects listed, 1 to download" % bucket in out  # after its own pass
    assert cached_files(cache) == {"loras/a.pt": b"a", "loras/new.pt": b"new"}
    assert queued(cache) == []


def test_a_run_that_waits_is_answered_by_the_sync_that_held_the_lock(s3, bucket, holding_proxy, tmp_path):
    put(s3, bucket, {"loras/a.pt": b"a"})
    proxy = holding_proxy(b"/loras/a.pt?")
    cache = tmp_path / "cache"
    boot = start_sync(bucket, cache, proxy.url)
    waiting = None
    try:
        wait_until("the boot sync downloads", proxy.held.is_set)
        put(s3, bucket, {"loras/new.pt": b"new"})
        waiting = start_sync(bucket, cache, proxy.url, *keys_arg(["loras/new.pt"]))
        wait_until("the keys run files its request", lambda: len(queued(cache)) == 2)
        proxy.release()
        out = waiting.communicate(timeout=120)[0]
        assert boot.wait(timeout=120) == 0
    finally:
        boot.kill()
        if waiting:
            waiting.kill()
    assert waiting.returncode == 0, out
    assert "done: the sync that held the lock ran this request: 1 downloaded" in out
    assert cached_files(cache) == {"loras/a.pt": b"a", "loras/new.pt": b"new"}


def test_the_lock_wait_ends_at_the_runs_deadline(s3, bucket, run_sync, tmp_path):
    put(s3, bucket, {"loras/a.pt": b"a"})
    cache = tmp_path / "cache"
    assert run_sync().returncode == 0
    with open(cache / "model-sync" / "lock", "a+") as held:
        import fcntl
        fcntl.flock(held, fcntl.LOCK_EX)  # a sync that runs on and on
        result = run_sync(*keys_arg(["loras/a.pt"]), "--stop-by", str(time.time() - 1))
    assert result.returncode == 4, result.stdout
    assert "another sync held the lock until this run's deadline; this request stays queued" in result.stdout
    assert len(queued(cache)) == 1
    assert run_sync().returncode == 0 and queued(cache) == []  # the next run took it with its own


def s5cmd_processes_writing_into(cache: Path) -> list:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if "s5cmd" in text and str(cache) in text:
            found.append(text)
    return found


def test_a_run_that_reaches_its_deadline_stops_cleanly_and_leaves_its_request_for_the_next(
        s3, bucket, holding_proxy, run_sync, tmp_path):
    put(s3, bucket, {"checkpoints/big.safetensors": os.urandom(2 * 1024 * 1024), "loras/a.pt": b"a"})
    proxy = holding_proxy(b"/checkpoints/big.safetensors")  # s5cmd's copy never completes
    cache = tmp_path / "cache"
    run = subprocess.run(sync_command(bucket, cache, proxy.url, "--part-size-mib", "1",
                                      "--stop-by", str(time.time() + 3)),
                         env=sync_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    assert run.returncode == 6, run.stdout
    assert "FAILED: stopped at its deadline (--stop-by" in run.stdout
    st = status(cache)
    assert st["state"] == "failed" and st["errors"][0].startswith("stopped at its deadline") and "pid" not in st
    assert s5cmd_processes_writing_into(cache) == []
    assert len(queued(cache)) == 1 and not (cache / "model-sync" / "ready").exists()
    proxy.release()
    assert run_sync().returncode == 0 and queued(cache) == []
    assert set(cached_files(cache)) == {"checkpoints/big.safetensors", "loras/a.pt"}


def test_a_first_sync_that_cannot_finish_by_its_deadline_gives_up_for_the_model_gate_to_replace_the_node(
        s3, bucket, holding_proxy, run_sync, tmp_path):
    put(s3, bucket, {"loras/a.pt": b"a"})
    proxy = holding_proxy(b"/loras/a.pt?")  # a download that never ends
    cache = tmp_path / "cache"
    result = run_sync("--first-sync-deadline-seconds", "2", endpoint=proxy.url)
    assert result.returncode == 6, result.stdout
    st = status(cache)
    assert st["state"] == "failed" and st["gave_up"] is True
    assert "the first sync's deadline, --first-sync-deadline-seconds 2" in st["errors"][0]
    assert "before the first full sync completed" in st["errors"][0]
    # The boot unit does not restart on 6; if it did, the deadline still counts from the first attempt.
    again = run_sync("--first-sync-deadline-seconds", "2")
    assert again.returncode == 6 and status(cache)["gave_up"] is True and not (cache / "model-sync" / "ready").exists()


def test_the_first_sync_deadline_no_longer_applies_once_the_node_was_ready(s3, bucket, run_sync, tmp_path):
    put(s3, bucket, {"loras/a.pt": b"a"})
    cache = tmp_path / "cache"
    assert run_sync("--first-sync-deadline-seconds", "3600").returncode == 0
    (cache / "model-sync" / "first-attempt").write_text("%f\n" % (time.time() - 7200))  # long ago
    result = run_sync("--first-sync-deadline-seconds", "3600")
    assert result.returncode == 0, result.stdout
    st = status(cache)
    assert st["state"] == "ok" and "gave_up" not in st and st["first_ready"]


def test_a_first_sync_that_fails_for_a_reason_no_retry_heals_gives_up_at_once(s3, bucket, run_sync, tmp_path):
    put(s3, bucket, {"checkpoints/huge.safetensors": os.urandom(1024 * 1024)})
    disk = os.statvfs(tmp_path)
    too_much = str(disk.f_bavail * disk.f_frsize / 1024 ** 3)
    keys_run = run_sync(*keys_arg(["checkpoints/huge.safetensors"]), "--reserve-gib", too_much)
    assert keys_run.returncode == 3 and "gave_up" not in status(tmp_path / "cache")  # an SSM run: not its call
    first = run_sync("--first-sync-deadline-seconds", "7200", "--reserve-gib", too_much)
    assert first.returncode == 3, first.stdout
    st = status(tmp_path / "cache")
    assert st["gave_up"] is True and "the models do not fit" in st["errors"][0]


def test_a_model_deleted_after_the_listing_is_neither_placed_nor_a_failure_through_either_download_path(
        s3, bucket, s3_endpoint, tmp_path, monkeypatch):
    put(s3, bucket, {"checkpoints/big.safetensors": os.urandom(2 * 1024 * 1024), "loras/small.pt": b"s",
                     "loras/kept.pt": b"k"})
    listed = sync.list_remote

    def list_then_delete(*args, **kwargs):
        result = listed(*args, **kwargs)
        for key in ("checkpoints/big.safetensors", "loras/small.pt"):
            s3.delete_object(Bucket=bucket, Key=key)
        return result
    monkeypatch.setattr(sync, "list_remote", list_then_delete)
    cache = tmp_path / "cache"
    args = in_process_args(monkeypatch, bucket, cache, s3_endpoint)
    args.part_size_mib = 1  # big.safetensors goes through s5cmd (NoSuchKey), small.pt by presigned GET (404)
    st = sync.sync(args)
    assert st["state"] == "ok" and cached_files(cache) == {"loras/kept.pt": b"k"}


def test_space_held_by_deleted_models_comfyui_still_maps_is_not_counted_as_free(s3, bucket, s3_endpoint,
                                                                                 tmp_path, monkeypatch):
    put(s3, bucket, {"checkpoints/old.safetensors": os.urandom(2 * 1024 * 1024)})
    cache = tmp_path / "cache"
    args = in_process_args(monkeypatch, bucket, cache, s3_endpoint)
    assert sync.sync(args)["state"] == "ok"
    s3.delete_object(Bucket=bucket, Key="checkpoints/old.safetensors")
    put(s3, bucket, {"checkpoints/new.safetensors": os.urandom(1024 * 1024)})
    # 0.5 MiB free before the deletion and after it: ComfyUI still maps old.safetensors, so unlinking it frees
    # nothing yet. Counted as freed, it would make room for new.safetensors.
    pretend_array(monkeypatch, cache, size=1024 ** 4, free=512 * 1024)
    with pytest.raises(SyncError) as error:
        sync.sync(args)
    assert error.value.exit_code == EXIT_NO_SPACE
    assert "Deleted models that ComfyUI still has open keep their space" in str(error.value)
    assert cached_files(cache) == {}  # the deletion is right either way; nothing was downloaded


def test_a_new_version_that_no_longer_fits_is_not_fetched(s3, bucket, hook_proxy, tmp_path, monkeypatch):
    mib = 1024 * 1024
    key = "checkpoints/big.safetensors"
    put(s3, bucket, {key: b"o" * (3 * mib)})

    def replace_with_a_larger_version(data: bytes) -> None:
        if data.startswith(b"GET /%s/%s" % (bucket.encode(), key.encode())) and b"\r\nrange:" in data.lower():
            if s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == 3 * mib:
                s3.put_object(Bucket=bucket, Key=key, Body=b"n" * (6 * mib))
    cache = tmp_path / "cache"
    args = in_process_args(monkeypatch, bucket, cache, hook_proxy(replace_with_a_larger_version))
    args.part_size_mib, args.part_concurrency = 1, 1
    pretend_array(monkeypatch, cache, size=1024 ** 4, free=4 * mib)  # room for the listed 3 MiB, not for 6
    with pytest.raises(SyncError) as error:
        sync.sync(args)
    assert error.value.exit_code == EXIT_NO_SPACE and "the models do not fit: 6.0 MiB to download" in str(error.value)
    assert cached_files(cache) == {}


def test_a_ready_marker_from_before_a_reboot_is_withdrawn_until_this_boots_full_sync_completes(
        s3, bucket, s3_endpoint, tmp_path, monkeypatch):
    from model_sync import cache as cache_module
    put(s3, bucket, {"loras/a.pt": b"a"})
    cache = tmp_path / "cache"
    args = in_process_args(monkeypatch, bucket, cache, s3_endpoint)
    assert sync.sync(args)["state"] == "ok" and (cache / "model-sync" / "ready").exists()
    assert sync.sync(args)["state"] == "ok" and (cache / "model-sync" / "ready").exists()  # same boot: kept

    monkeypatch.setattr(cache_module, "boot_time", lambda: time.time() + 1)  # the node rebooted since
    put(s3, bucket, {"loras/b.pt": b"b"})
    monkeypatch.setattr(fetch, "fetch_object", lambda url, dest: ("HTTP 503 SlowDown", None))
    with pytest.raises(SyncError):
        sync.sync(args)  # this boot's full sync has not completed: no `ready`, ComfyUI reports unready
    assert not (cache / "model-sync" / "ready").exists()
    monkeypatch.undo()
    args = in_process_args(monkeypatch, bucket, cache, s3_endpoint)
    assert sync.sync(args)["state"] == "ok" and (cache / "model-sync" / "ready").exists()


def test_s5cmd_dies_with_a_killed_sync_and_is_started_without_a_preexec_fn(s3, bucket, holding_proxy, s3_endpoint,
                                                                           tmp_path, monkeypatch):
    put(s3, bucket, {"checkpoints/big.safetensors": os.urandom(2 * 1024 * 1024)})
    proxy = holding_proxy(b"/checkpoints/big.safetensors")
    cache = tmp_path / "cache"
    proc = subprocess.Popen(sync_command(bucket, cache, proxy.url, "--part-size-mib", "1"), env=sync_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until("s5cmd copies", proxy.held.is_set)
    assert s5cmd_processes_writing_into(cache)
    proc.kill()  # SIGKILL: no finally runs; only the kernel's parent-death signal can stop s5cmd
    proc.wait(timeout=10)
    wait_until("s5cmd is gone", lambda: not s5cmd_processes_writing_into(cache))

    # In a threaded process, Python code between fork and exec (preexec_fn) can deadlock.
    from model_sync import s5cmd as s5cmd_module
    started = []
    popen = subprocess.Popen

    def recording_popen(*args, **kwargs):
        started.append(kwargs.get("preexec_fn"))
        return popen(*args, **kwargs)
    monkeypatch.setattr(s5cmd_module.subprocess, "Popen", recording_popen)
    proxy.release()
    args = in_process_args(monkeypatch, bucket, cache, s3_endpoint)
    args.part_size_mib = 1
    assert sync.sync(args)["state"] == "ok"
    assert len(started) >= 2 and started == [None] * len(started)  # the listing and the copy at least


@pytest.fixture
def logs(s3_endpoint):
    return boto3.client("logs", endpoint_url=s3_endpoint, region_name=CREDENTIALS["AWS_REGION"],
                        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])


def boot_run(bucket, cache, endpoint, imds, *extra):
    """The boot unit's run: the node's IMDS (a fake), CloudWatch Logs where the SDKs would look for it."""
    env = {**sync_env(), "AWS_ENDPOINT_URL": endpoint, "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url}
    return subprocess.run(sync_command(bucket, cache, endpoint, *extra), env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=120)


def test_a_boot_sync_reports_to_the_log_group_ssm_runs_use_in_a_stream_comfyctl_reads(s3, bucket, logs, s3_endpoint,
                                                                                       tmp_path):
    group = "/comfyui/test-%s/model-sync" % bucket
    logs.create_log_group(logGroupName=group)
    put(s3, bucket, {"loras/a.pt": b"a"})
    imds = FakeImds()
    result = boot_run(bucket, tmp_path / "cache", s3_endpoint, imds, "--report-log-group", group)
    assert result.returncode == 0, result.stdout + result.stderr
    [stream] = logs.describe_log_streams(logGroupName=group)["logStreams"]
    # SSM's own shape, <command>/<instance>/<step>/stdout: lib/cli/models/sync-report.ts parseOutputStreamName.
    assert re.fullmatch(r"boot-\d{8}T\d{6}Z/i-0123456789abcdef0/syncModels/stdout", stream["logStreamName"])
    messages = [e["message"] for e in logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"],
                                                          startFromHead=True)["events"]]
    assert any(m.startswith("[model-sync] full sync of s3://%s" % bucket) for m in messages)
    assert messages[-1].startswith("[model-sync] done: 1 downloaded")

    put(s3, bucket, {"loras/b.pt": b"b"})
    failed = boot_run(bucket, tmp_path / "cache", s3_endpoint, imds, "--report-log-group", group,
                      "--reserve-gib", "1000000")
    assert failed.returncode == 3
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    newest = max(streams, key=lambda s: s["logStreamName"])  # or the same one, for two runs in one second
    last = logs.get_log_events(logGroupName=group, logStreamName=newest["logStreamName"])["events"][-1]
    assert last["message"].startswith("[model-sync] FAILED: the models do not fit")


def test_a_boot_sync_that_cannot_report_syncs_all_the_same(s3, bucket, s3_endpoint, tmp_path):
    put(s3, bucket, {"loras/a.pt": b"a"})
    result = boot_run(bucket, tmp_path / "cache", s3_endpoint, FakeImds(), "--report-log-group", "/no/such/group")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "could not report to CloudWatch Logs /no/such/group" in result.stdout + result.stderr
    assert cached_files(tmp_path / "cache") == {"loras/a.pt": b"a"}
