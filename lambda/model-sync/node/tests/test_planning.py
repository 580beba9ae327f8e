"""Pure planning rules of sync_models.py: no S3, no disk."""
from __future__ import annotations

import base64
import json
import shlex

import pytest
from conftest import REPO
from model_sync import keys, plan, s5cmd
from model_sync.outcome import EXIT_USAGE, SyncError

KEY_CASES = json.loads((REPO / "test" / "fixtures" / "model-keys.json").read_text(encoding="utf-8"))
ALL_FOLDERS = frozenset(
    __import__("re").findall(r"'([a-z0-9_]+)',", (REPO / "lib" / "model-folders.ts").read_text(encoding="utf-8")))
F = frozenset({"checkpoints", "loras"})


def obj(size, etag):
    return {"size": size, "etag": etag}


@pytest.mark.parametrize("key", KEY_CASES["accepted"])
def test_keys_the_lambda_accepts_are_model_files_here_too(key):
    assert keys.model_key_problem(key, ALL_FOLDERS) is None


@pytest.mark.parametrize("key", KEY_CASES["rejected"])
def test_keys_the_lambda_rejects_are_never_written_to_disk(key):
    assert keys.model_key_problem(key, ALL_FOLDERS) is not None


def test_full_sync_downloads_new_and_changed_objects_and_deletes_vanished_ones():
    remote = {"checkpoints/new.pt": obj(1, "a"), "checkpoints/same.pt": obj(2, "b"), "loras/changed.pt": obj(3, "c2")}
    manifest = {"checkpoints/same.pt": obj(2, "b"), "loras/changed.pt": obj(3, "c1"), "loras/gone.pt": obj(4, "d")}
    local = {"checkpoints/same.pt", "loras/changed.pt", "loras/gone.pt", "loras/stray.pt"}
    downloads, deletes = plan.plan_sync(remote, manifest, local, None)
    assert downloads == ["checkpoints/new.pt", "loras/changed.pt"]
    assert deletes == ["loras/gone.pt", "loras/stray.pt"]


def test_a_manifest_entry_whose_file_vanished_is_downloaded_again():
    remote = {"loras/a.pt": obj(1, "a")}
    assert plan.plan_sync(remote, {"loras/a.pt": obj(1, "a")}, set(), None) == (["loras/a.pt"], [])


def test_keys_mode_touches_only_the_given_keys_and_checks_them_against_the_bucket():
    remote = {"loras/added.pt": obj(1, "a"), "loras/other-new.pt": obj(1, "x")}
    manifest = {"loras/removed.pt": obj(1, "r"), "loras/untouched.pt": obj(1, "u")}
    local = {"loras/removed.pt", "loras/untouched.pt"}
    scope = {"loras/added.pt", "loras/removed.pt", "loras/never-existed.pt"}
    assert plan.plan_sync(remote, manifest, local, scope) == (["loras/added.pt"], ["loras/removed.pt"])


@pytest.mark.parametrize("need,free,freed,reserve,short", [
    (10, 100, 0, 0, 0),
    (100, 100, 0, 0, 0),
    (101, 100, 0, 0, 1),
    (100, 60, 50, 0, 0),
    (100, 100, 0, 30, 30),
])
def test_space_shortfall(need, free, freed, reserve, short):
    assert plan.space_shortfall(need, free, freed, reserve) == short


GB = 1000 ** 3


def test_a_large_array_keeps_kubelets_eviction_threshold_plus_a_margin_free():
    # g5.12xlarge's 3.8 TB array: 15 % (kubelet's imagefs eviction threshold) + 5 % = 760 GB, not 30 GiB.
    assert plan.free_space_reserve(3800 * GB) == 760 * GB
    assert plan.free_space_reserve(3800 * GB) > 30 * plan.GIB


def test_a_small_disk_keeps_the_30_gib_floor():
    # g4dn.xlarge's 125 GB: 20 % would be 25 GB, less than images and pod data need.
    assert plan.free_space_reserve(125 * GB) == 30 * plan.GIB


def test_the_reserve_follows_the_reserve_gib_and_reserve_percent_settings():
    assert plan.free_space_reserve(1000 * GB, floor_gib=0, percent=0) == 0
    assert plan.free_space_reserve(1000 * GB, floor_gib=200, percent=10) == 200 * plan.GIB
    assert plan.free_space_reserve(1000 * GB, floor_gib=50, percent=30) == 300 * GB


def test_decode_keys_filters_unsafe_keys_and_rejects_bad_encodings():
    encoded = base64.b64encode(json.dumps(["loras/ok.pt", "codebuild/x", "loras/../../x"]).encode()).decode()
    assert keys.decode_keys(encoded, F) == {"loras/ok.pt"}
    assert keys.decode_keys("", F) is None
    for bad in ["!!!", base64.b64encode(b"{}").decode(), base64.b64encode(b"[1]").decode()]:
        with pytest.raises(SyncError) as error:
            keys.decode_keys(bad, F)
        assert error.value.exit_code == EXIT_USAGE
        assert "--keys-b64" in str(error.value)


# Beyond the shared fixture: what `s5cmd run` and a log line cannot carry (test/cli/models-key.test.ts has the
# same cases for lib/model-folders.ts).
UNSAFE_KEYS = ["loras/a\nb.pt", "loras/a\rb.pt", "loras/tab\t.pt", "loras/esc\x1b[31m.pt", "loras/nul\x00.pt",
               "loras/del\x7f.pt", "loras/nel\x85.pt", "loras/line\u2028sep.pt", "loras/para\u2029sep.pt",
               "loras/" + "x" * 256, "loras/" + "é" * 128 + "/a.pt"]


@pytest.mark.parametrize("key", UNSAFE_KEYS)
def test_keys_a_node_cannot_store_or_quote_are_refused_and_reported(key):
    problem = keys.model_key_problem(key, F)
    assert problem is not None and keys.is_refused(problem)


def test_keys_that_are_no_models_are_ignored_not_reported():
    for key in ("codebuild/artifact.zip", "README.txt", "loras/", "loras/sub/"):
        assert not keys.is_refused(keys.model_key_problem(key, F))
    assert keys.model_key_problem("loras/" + "x" * 255, F) is None
    assert keys.model_key_problem("loras/" + "é" * 125 + "a.pt", F) is None  # 254 bytes


def test_each_copy_takes_one_listed_key_literally_into_its_own_staging_file():
    keys = ["loras/it's \"q\" $(touch x) `id` ; \\ *?[1].pt", "checkpoints/sub dir/日本.safetensors", "vae/-rf.pt"]
    targets = [(key, "/cache/staging/run-1/%06d" % i) for i, key in enumerate(keys)]
    lines = s5cmd.copy_commands("bucket", targets, ["--concurrency", "16"])
    assert len(lines) == 3 and all("\n" not in line for line in lines)
    for line, (key, dest) in zip(lines, targets):
        # s5cmd splits a run-file line like a POSIX shell (go-shellquote); shlex in POSIX mode does the same.
        assert shlex.split(line) == ["cp", "--raw", "--concurrency", "16", "s3://bucket/" + key, dest]


def test_copy_commands_refuses_a_key_that_would_break_its_line():
    with pytest.raises(ValueError):
        s5cmd.copy_commands("bucket", [("loras/a\nrm -rf x.pt", "/staging/000000")], [])


def test_objects_of_one_part_are_fetched_by_presigned_get_and_the_rest_copied_by_s5cmd():
    remote = {"loras/small.pt": obj(64, "a"), "loras/edge.pt": obj(64, "b"), "checkpoints/big.pt": obj(65, "c"),
              "loras/glob*.pt": obj(1, "d"), "loras/what?.pt": obj(1, "e")}
    fetched, copied = plan.split_downloads(sorted(remote), remote, part_size=64)
    assert fetched == ["loras/edge.pt", "loras/small.pt"]
    assert copied == ["checkpoints/big.pt", "loras/glob*.pt", "loras/what?.pt"]  # presign cannot take '*', '?'


@pytest.mark.parametrize("url,key", [
    ("http://127.0.0.1:9000/models/loras/sd%20xl%2Bplus%20%E6%97%A5.pt?X-Amz-Signature=x", "loras/sd xl+plus 日.pt"),
    ("https://models.s3.us-west-2.amazonaws.com/loras/a%2Fb.pt?X-Amz-Signature=x", "loras/a/b.pt"),
    ("https://s3.us-west-2.amazonaws.com/models/checkpoints/c.pt", "checkpoints/c.pt"),
    ("https://s3.us-west-2.amazonaws.com/other/checkpoints/c.pt", None),
])
def test_a_presigned_url_is_matched_to_its_key_by_its_path(url, key):
    assert s5cmd.presigned_key(url, "models") == key


@pytest.mark.parametrize("case", KEY_CASES["folderClashes"], ids=lambda c: ",".join(c["keys"]))
def test_a_key_other_keys_use_as_a_folder_is_refused_and_the_deeper_keys_win(case):
    clashes = keys.clashing_keys(case["keys"])
    assert sorted(clashes) == case["refused"]
    assert all("is also the folder of" in why for why in clashes.values())


@pytest.mark.parametrize("storage_class", KEY_CASES["storageClasses"]["refused"])
def test_archived_objects_are_refused_with_the_way_back(storage_class):
    assert "--storage-class STANDARD" in keys.storage_class_problem(storage_class)


@pytest.mark.parametrize("storage_class", KEY_CASES["storageClasses"]["accepted"])
def test_readable_storage_classes_are_accepted(storage_class):
    assert keys.storage_class_problem(storage_class) is None


def test_a_keys_run_deletes_an_older_file_where_its_download_needs_a_folder():
    remote = {"loras/foo/bar.pt": obj(1, "b")}
    manifest = {"loras/foo": obj(1, "f")}
    downloads, deletes = plan.plan_sync(remote, manifest, {"loras/foo", "loras/other.pt"}, {"loras/foo/bar.pt"})
    assert (downloads, deletes) == (["loras/foo/bar.pt"], ["loras/foo"])


def test_an_s5cmd_error_line_is_matched_to_its_key_by_the_staging_file_it_names():
    from model_sync.download import key_of_result
    staging = "/mnt/k8s-disks/0/comfyui/model-sync/staging/run-7-1"
    by_dest = {staging + "/000003": "checkpoints/it's big.safetensors"}
    # As s5cmd v2.3.0 prints a failed copy of a run file: no "source" nor "destination", an unquoted command.
    error = {"operation": "cp", "command": "cp s3://b/checkpoints/it's big.safetensors %s/000003" % staging,
             "error": "AccessDenied: Access Denied status code: 403"}
    assert key_of_result(error, by_dest, staging) == "checkpoints/it's big.safetensors"
    assert key_of_result({"destination": staging + "/000003", "success": True}, by_dest, staging) \
        == "checkpoints/it's big.safetensors"
    assert key_of_result({"command": "cp s3://b/x /elsewhere/1"}, by_dest, staging) is None
