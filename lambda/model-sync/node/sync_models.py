#!/usr/bin/env python3
"""Make this GPU node's model cache hold exactly the models in the S3 models bucket.

The one source of the node-side sync: the boot-time systemd unit runs this file, and the SSM document
ComfyUI-SyncModels embeds it (the CDK app reads this file), so both always run the same code.

- Full mode (no --keys-b64): reconcile every model folder; files whose objects are gone are deleted.
- Keys mode (--keys-b64 = base64 JSON list): reconcile only those keys against the bucket's current
  state, so out-of-order or duplicate notifications cannot leave a wrong file behind.

Downloads go through s5cmd (parallel, multipart) into a per-run staging directory on the same filesystem
and are renamed into place when complete, so ComfyUI never sees a half-written file. A lock serializes
runs; the free space is checked before anything changes; status.json and the `ready` marker (written after
the first successful full sync) tell pods and operators where the node stands.

Runs on the node's system python3 (3.9 on AL2023) with the standard library only.
Exit codes: 0 ok, 1 some objects failed, 2 bad arguments or environment, 3 models do not fit,
4 another run held the lock too long, 5 the instance store is not mounted.
"""
from __future__ import annotations

import argparse
import base64
import binascii
import ctypes
import fcntl
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NO_SPACE, EXIT_LOCKED, EXIT_NOT_MOUNTED = 0, 1, 2, 3, 4, 5
GIB = 1024 ** 3
PROGRESS_EVERY_SECONDS = 5.0
MAX_ERRORS_IN_STATUS = 20

# How much of the instance-store array a sync leaves free. The array also holds /var/lib/kubelet and
# /var/lib/containerd (nodeadm's RAID0 instance-store policy bind-mounts them onto it), so every disk threshold
# of kubelet applies to this one filesystem:
# - eviction below 10 % free on nodefs and 15 % on imagefs, kubelet's DefaultEvictionHard
#   (https://github.com/kubernetes/kubernetes/blob/v1.35.4/pkg/kubelet/eviction/defaults_linux.go); EKS's
#   nodeadm sets the nodefs 10 % itself (awslabs/amazon-eks-ami nodeadm/internal/kubelet/config.go);
# - image garbage collection from 85 % used down to 80 %
#   (https://github.com/kubernetes/kubernetes/blob/v1.35.4/pkg/kubelet/apis/config/v1beta1/defaults.go).
# Keeping the highest, 15 %, plus a 5 % margin free leaves the disk at most 80 % used after a sync (image GC's
# low mark), and images, emptyDir volumes and logs the 5 % between (190 GB on a 3.8 TB array) before any
# eviction. A fixed 30 GiB would let models fill a 3.8 TB array to 99 %, and kubelet would evict ComfyUI.
# Small disks keep the 30 GiB floor.
KUBELET_EVICTION_THRESHOLD_PERCENT = 15.0
RESERVE_MARGIN_PERCENT = 5.0
DEFAULT_RESERVE_PERCENT = KUBELET_EVICTION_THRESHOLD_PERCENT + RESERVE_MARGIN_PERCENT
DEFAULT_RESERVE_GIB = 30.0


class SyncError(Exception):
    """A failure with the message an operator needs and the exit code that classifies it."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED):
        super().__init__(message)
        self.exit_code = exit_code


def log(message: str) -> None:
    # stdout goes to the journal (systemd unit) or to CloudWatch (SSM command output).
    print("[model-sync] " + message, flush=True)


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024:
            return "%.1f %s" % (n, unit)
        n /= 1024.0
    return "%.1f TiB" % n


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------------------------------
# Pure planning (no I/O): which keys are model files, and what to download or delete.
# ---------------------------------------------------------------------------------------------------

def model_key_problem(key: str, folders: frozenset) -> str | None:
    """Same rules as lib/model-folders.ts: why a key cannot be a model file, or None."""
    segments = key.split("/")
    if len(segments) < 2 or segments[0] not in folders:
        return "not under a model folder"
    if key.endswith("/"):
        return "a folder marker"
    if any(s in ("", ".", "..") for s in segments) or "\0" in key:
        return "an unsafe path"
    return None


def plan_sync(remote: dict, manifest: dict, local_files: set, scope: set | None) -> tuple:
    """Returns (downloads, deletes), both sorted lists of keys.

    remote: key -> {"size", "etag"} as listed now; manifest: key -> {"size", "etag"} of files this script
    placed; local_files: model keys present on disk; scope: keys to reconcile, or None for everything.
    """
    candidates = set(remote) | set(manifest) | local_files if scope is None else scope
    downloads, deletes = [], []
    for key in candidates:
        if key in remote:
            have = manifest.get(key)
            if key not in local_files or have is None or have.get("etag") != remote[key]["etag"] \
                    or have.get("size") != remote[key]["size"]:
                downloads.append(key)
        elif key in local_files or key in manifest:
            deletes.append(key)
    return sorted(downloads), sorted(deletes)


def free_space_reserve(fs_size: int, floor_gib: float = DEFAULT_RESERVE_GIB,
                       percent: float = DEFAULT_RESERVE_PERCENT) -> int:
    """Bytes the models must leave free on a filesystem of fs_size bytes: percent of it, and never less than
    floor_gib (the room images and pod data need on a small disk)."""
    return max(int(floor_gib * GIB), int(fs_size * percent / 100.0))


def space_shortfall(need: int, free: int, freed: int, reserve: int) -> int:
    """Bytes missing for the downloads (0 when they fit); new copies land beside the old until renamed."""
    return max(0, need + reserve - free - freed)


def decode_keys(keys_b64: str, folders: frozenset) -> set | None:
    if keys_b64 == "":
        return None
    try:
        keys = json.loads(base64.b64decode(keys_b64, validate=True).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise SyncError("--keys-b64 is not base64 of a JSON list of keys: %s" % error, EXIT_USAGE)
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise SyncError("--keys-b64 must decode to a JSON list of strings", EXIT_USAGE)
    return {k for k in keys if model_key_problem(k, folders) is None}


# ---------------------------------------------------------------------------------------------------
# The node's cache: directories, manifest, status, lock.
# ---------------------------------------------------------------------------------------------------

class Cache:
    def __init__(self, data_dir: str):
        self.models = os.path.join(data_dir, "models")
        self.state = os.path.join(data_dir, "model-sync")
        self.staging_root = os.path.join(self.state, "staging")
        for path in (self.models, self.staging_root):
            os.makedirs(path, exist_ok=True)
        if os.stat(self.models).st_dev != os.stat(self.staging_root).st_dev:
            raise SyncError("%s and %s are on different filesystems; renames would not be atomic"
                            % (self.models, self.staging_root), EXIT_USAGE)

    def path_of(self, key: str) -> str:
        return os.path.join(self.models, *key.split("/"))

    def local_files(self, folders: frozenset) -> set:
        found = set()
        for folder in folders:
            top = os.path.join(self.models, folder)
            for root, _dirs, files in os.walk(top):
                rel = os.path.relpath(root, self.models).replace(os.sep, "/")
                found.update(rel + "/" + name for name in files)
        return found

    def read_json(self, name: str, default):
        try:
            with open(os.path.join(self.state, name), encoding="utf-8") as f:
                return json.load(f)
        except (OSError, ValueError):
            return default

    def write_atomically(self, name: str, text: str) -> None:
        """Readers (pods, operators, the next run) see the old file or the new one, never a torn one."""
        final = os.path.join(self.state, name)
        with open(final + ".tmp", "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(final + ".tmp", final)

    def write_json(self, name: str, value) -> None:
        self.write_atomically(name, json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False))

    def mark_ready(self) -> None:
        self.write_atomically("ready", now_iso() + "\n")

    def new_staging_dir(self) -> str:
        # Leftovers of killed runs go first; a per-run name means a straggling child of a killed run can
        # never have its file renamed into place by this run.
        for name in os.listdir(self.staging_root):
            shutil.rmtree(os.path.join(self.staging_root, name), ignore_errors=True)
        path = os.path.join(self.staging_root, "run-%d-%d" % (os.getpid(), int(time.time())))
        os.makedirs(path)
        return path

    def remove_model(self, key: str) -> None:
        path = self.path_of(key)
        try:
            os.remove(path)
        except FileNotFoundError:
            return
        parent = os.path.dirname(path)
        # Drop emptied sub-folders, never the model folder itself nor models/.
        while os.path.dirname(parent) != self.models and parent.startswith(self.models + os.sep):
            try:
                os.rmdir(parent)
            except OSError:
                break
            parent = os.path.dirname(parent)


def acquire_lock(cache: Cache, timeout: float):
    handle = open(os.path.join(cache.state, "lock"), "a+")
    deadline = time.monotonic() + timeout
    announced = False
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            if not announced:
                log("another sync is running on this node; waiting up to %d s for it to finish" % timeout)
                announced = True
            if time.monotonic() > deadline:
                raise SyncError("another sync held the lock for more than %d s" % timeout, EXIT_LOCKED)
            time.sleep(0.2)


def wait_for_mount(path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    if not os.path.ismount(path):
        log("waiting up to %d s for the instance-store array at %s" % (timeout, path))
    while not os.path.ismount(path):
        if time.monotonic() > deadline:
            raise SyncError("%s is not mounted: the node has no instance-store array, so the models would fill "
                            "the root volume. Use an instance type with NVMe instance store and "
                            "instanceStorePolicy RAID0 in the EC2NodeClass." % path, EXIT_NOT_MOUNTED)
        time.sleep(1)


# ---------------------------------------------------------------------------------------------------
# s5cmd: listing and parallel downloads.
# ---------------------------------------------------------------------------------------------------

def die_with_parent() -> None:
    # PR_SET_PDEATHSIG: if this script is killed, its s5cmd child goes too instead of writing on.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
    except OSError:
        pass


class S5cmd:
    def __init__(self, args):
        self.binary = args.s5cmd
        self.base = [self.binary, "--json", "--numworkers", str(args.workers)]
        endpoint = args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint:
            self.base += ["--endpoint-url", endpoint]
        self.env = dict(os.environ)
        if args.region:
            self.env["AWS_REGION"] = args.region
        self.cp_flags = ["--concurrency", str(args.part_concurrency), "--part-size", str(args.part_size_mib)]

    def list_objects(self, bucket: str, prefix: str) -> list:
        url = "s3://%s/%s*" % (bucket, prefix)
        proc = subprocess.run(self.base + ["ls", url], env=self.env, capture_output=True, text=True,
                              preexec_fn=die_with_parent)
        objects = []
        for line in proc.stdout.splitlines():
            entry = json.loads(line)
            if entry.get("type") == "file":
                objects.append(entry)
        if proc.returncode != 0:
            errors = [json.loads(l).get("error", l) for l in proc.stderr.splitlines() if l.startswith("{")]
            if errors and all("no object found" in e for e in errors):
                return []
            raise SyncError("listing %s failed: %s" % (url, (errors or [proc.stderr.strip()])[0]))
        return objects

    def copy_many(self, run_file: str, on_result) -> int:
        """Runs every line of run_file in parallel; calls on_result(json) as each copy ends."""
        proc = subprocess.Popen(self.base + ["run", run_file], env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, preexec_fn=die_with_parent)
        errors_thread = threading.Thread(target=lambda: [on_result(l) for l in proc.stderr], daemon=True)
        errors_thread.start()
        for line in proc.stdout:
            on_result(line)
        errors_thread.join()
        return proc.wait()


# ---------------------------------------------------------------------------------------------------
# One sync run.
# ---------------------------------------------------------------------------------------------------

class Progress:
    def __init__(self, total_files: int, total_bytes: int, staging: str):
        self.total_files, self.total_bytes, self.staging = total_files, total_bytes, staging
        self.done_files, self.done_bytes = 0, 0
        self.started = time.monotonic()
        self.stop = threading.Event()

    def in_flight_bytes(self) -> int:
        total = 0
        for root, _dirs, files in os.walk(self.staging):
            for name in files:
                if name == "commands.txt":
                    continue
                try:
                    total += os.path.getsize(os.path.join(root, name))
                except OSError:
                    pass
        return total

    def report(self) -> None:
        moved = self.done_bytes + self.in_flight_bytes()
        elapsed = max(time.monotonic() - self.started, 1e-6)
        log("progress: %d/%d files, %s of %s, %s/s" % (
            self.done_files, self.total_files, human_bytes(moved), human_bytes(self.total_bytes),
            human_bytes(moved / elapsed)))

    def run(self) -> None:
        while not self.stop.wait(PROGRESS_EVERY_SECONDS):
            self.report()


def list_remote(s5: S5cmd, bucket: str, folders: frozenset, scope: set | None) -> tuple:
    """Returns (model objects: key -> {size, etag}, folders that also hold keys that are not model files)."""
    prefixes = [""] if scope is None else sorted({k.split("/", 1)[0] + "/" for k in scope})
    remote, mixed = {}, set()
    for prefix in prefixes:
        for entry in s5.list_objects(bucket, prefix):
            key = entry["key"][len("s3://%s/" % bucket):]
            if model_key_problem(key, folders) is None:
                remote[key] = {"size": int(entry["size"]), "etag": entry.get("etag", "")}
            else:
                mixed.add(key.split("/", 1)[0])
    return remote, mixed


def plan_copies(downloads: list, remote: dict, mixed: set) -> tuple:
    """Splits downloads into whole folders (one wildcard copy each) and single keys.

    A wildcard copy saves a HEAD request per object (about half the time for many small files), but it
    takes every object under the prefix, so it is used only where every object there is a wanted, safe
    model key: a first sync, typically.
    """
    wanted = set(downloads)
    by_folder = {}
    for key in remote:
        by_folder.setdefault(key.split("/", 1)[0], []).append(key)
    whole = sorted(f for f, keys in by_folder.items() if f not in mixed and all(k in wanted for k in keys))
    singles = sorted(k for k in downloads if k.split("/", 1)[0] not in whole)
    return whole, singles


def download(s5: S5cmd, cache: Cache, bucket: str, keys: list, remote: dict, mixed: set, manifest: dict,
             errors: list) -> tuple:
    staging = cache.new_staging_dir()
    tree = os.path.join(staging, "tree")
    targets = {}
    whole, singles = plan_copies(keys, remote, mixed)
    flags = " ".join(s5.cp_flags)
    run_file = os.path.join(staging, "commands.txt")
    with open(run_file, "w", encoding="utf-8") as f:
        for folder in whole:
            # Lands as tree/<key>; every object under the prefix is a safe model key (plan_copies).
            f.write("cp %s %s %s\n" % (flags, shlex.quote("s3://%s/%s/*" % (bucket, folder)),
                                        shlex.quote(os.path.join(tree, folder) + "/")))
        for i, key in enumerate(singles):
            dest = os.path.join(staging, "%06d" % i)
            targets[dest] = key
            # --raw: keys are literal, so '*' or '?' in a file name is not a wildcard.
            f.write("cp --raw %s %s %s\n" % (flags, shlex.quote("s3://%s/%s" % (bucket, key)), shlex.quote(dest)))
    keys_wanted = set(keys)
    progress = Progress(len(keys), sum(remote[k]["size"] for k in keys), staging)
    reporter = threading.Thread(target=progress.run, daemon=True)
    reporter.start()
    done = []

    def on_result(line: str) -> None:
        try:
            result = json.loads(line)
        except ValueError:
            errors.append(line.strip())
            return
        dest = result.get("destination") or ""
        key = targets.get(dest)
        if key is None and dest.startswith(tree + os.sep):
            key = os.path.relpath(dest, tree).replace(os.sep, "/")
            if key not in remote or key not in keys_wanted:
                return  # appeared after the listing: the next sync handles it
        if result.get("error") or not result.get("success") or key is None:
            errors.append("%s: %s" % (result.get("source", "?"), result.get("error", "copy failed")))
            return
        expected = remote[key]["size"]
        got = os.path.getsize(dest)
        if got != expected:
            errors.append("%s: got %d bytes, expected %d" % (key, got, expected))
            return
        final = cache.path_of(key)
        os.makedirs(os.path.dirname(final), exist_ok=True)
        os.replace(dest, final)
        manifest[key] = remote[key]
        done.append(key)
        progress.done_files += 1
        progress.done_bytes += expected

    try:
        code = s5.copy_many(run_file, on_result)
    finally:
        progress.stop.set()
        progress.report()
        shutil.rmtree(staging, ignore_errors=True)
    missing = len(keys_wanted) - len(done)
    if missing and not errors:
        errors.append("%d objects were not downloaded (s5cmd exited with code %d)" % (missing, code))
    return done, progress.done_bytes


def sync(args) -> dict:
    folders = frozenset(f.strip() for f in args.folders.split(",") if f.strip())
    if not folders:
        raise SyncError("--folders must list at least one model folder", EXIT_USAGE)
    if not (0 <= args.reserve_percent < 100 and args.reserve_gib >= 0):
        raise SyncError("--reserve-percent must be 0..99 and --reserve-gib at least 0, got %g and %g"
                        % (args.reserve_percent, args.reserve_gib), EXIT_USAGE)
    if not (os.path.isfile(args.s5cmd) and os.access(args.s5cmd, os.X_OK)):
        raise SyncError("s5cmd not found at %s: the node was not bootstrapped by install-node-sync.sh "
                        "(or pass --s5cmd)" % args.s5cmd, EXIT_USAGE)
    scope = decode_keys(args.keys_b64, folders)
    if args.require_mount:
        wait_for_mount(args.require_mount, args.mount_wait_seconds)
    cache = Cache(args.data_dir)
    lock = acquire_lock(cache, args.lock_timeout_seconds)
    started = time.monotonic()
    status = cache.read_json("status.json", {})
    status.update({"bucket": args.bucket, "host": socket.gethostname(), "last_attempt": now_iso(),
                   "mode": "full" if scope is None else "keys", "state": "running"})
    errors = []
    try:
        if scope is not None and not scope:
            log("no model keys to reconcile")
        manifest = cache.read_json("manifest.json", {})
        local = cache.local_files(folders)
        # Trust the manifest only for files still on disk at the size it recorded.
        manifest = {k: v for k, v in manifest.items()
                    if k in local and os.path.getsize(cache.path_of(k)) == v.get("size")}
        s5 = S5cmd(args)
        remote, mixed = list_remote(s5, args.bucket, folders, scope) if scope != set() else ({}, set())
        downloads, deletes = plan_sync(remote, manifest, local, scope)
        need = sum(remote[k]["size"] for k in downloads)
        freed = sum(os.path.getsize(cache.path_of(k)) for k in deletes if k in local)
        disk = os.statvfs(cache.models)
        free = disk.f_bavail * disk.f_frsize
        reserve = free_space_reserve(disk.f_blocks * disk.f_frsize, args.reserve_gib, args.reserve_percent)
        log("%s sync of s3://%s: %d objects listed, %d to download (%s), %d to delete; %s free, %s kept free"
            % (status["mode"], args.bucket, len(remote), len(downloads), human_bytes(need), len(deletes),
               human_bytes(free), human_bytes(reserve)))
        missing = space_shortfall(need, free, freed, reserve)
        if missing:
            raise SyncError(
                "the models do not fit: %s to download, %s free on %s after deletions, %s kept free for images, "
                "pod data and kubelet's eviction threshold (--reserve-percent %g, at least --reserve-gib %g); "
                "%s short. Use an instance type with more instance store, or remove models from the bucket."
                % (human_bytes(need), human_bytes(free + freed), cache.models, human_bytes(reserve),
                   args.reserve_percent, args.reserve_gib, human_bytes(missing)), EXIT_NO_SPACE)
        for key in deletes:
            cache.remove_model(key)
            manifest.pop(key, None)
        cache.write_json("manifest.json", manifest)
        done, done_bytes = download(s5, cache, args.bucket, downloads, remote, mixed, manifest, errors) if downloads \
            else ([], 0)
        cache.write_json("manifest.json", manifest)
        status.update({"downloaded": len(done), "downloaded_bytes": done_bytes, "deleted": len(deletes),
                       "objects": len(manifest), "bytes": sum(v["size"] for v in manifest.values())})
        if errors:
            raise SyncError("%d of %d downloads failed; first: %s" % (len(downloads) - len(done), len(downloads),
                                                                      errors[0]))
        status.update({"state": "ok", "last_success": now_iso(), "errors": []})
        if scope is None:
            cache.mark_ready()
        return status
    except BaseException as error:  # SyncError, or SIGTERM/Ctrl-C arriving as SystemExit/KeyboardInterrupt
        reason = str(error) if isinstance(error, SyncError) else "interrupted (%s)" % type(error).__name__
        status.update({"state": "failed", "errors": ([reason] + errors)[:MAX_ERRORS_IN_STATUS]})
        raise
    finally:
        status["duration_seconds"] = round(time.monotonic() - started, 3)
        cache.write_json("status.json", status)
        lock.close()


def parse_args(argv: list):
    p = argparse.ArgumentParser(description="Sync this node's ComfyUI model cache with the models bucket.")
    p.add_argument("--bucket", required=True, help="models bucket name")
    p.add_argument("--data-dir", required=True, help="cache root: holds models/ and model-sync/")
    p.add_argument("--folders", required=True, help="comma-separated model folders to mirror")
    p.add_argument("--keys-b64", default="", help="base64 JSON list of changed keys; empty = full sync")
    p.add_argument("--region", default=os.environ.get("AWS_REGION", ""), help="bucket region")
    p.add_argument("--endpoint-url", default="", help="S3 endpoint (default: AWS_ENDPOINT_URL[_S3])")
    p.add_argument("--s5cmd", default=shutil.which("s5cmd") or "/usr/local/bin/s5cmd", help="s5cmd binary")
    p.add_argument("--workers", type=int, default=64, help="parallel s5cmd workers")
    p.add_argument("--part-concurrency", type=int, default=16, help="parallel parts per large object")
    p.add_argument("--part-size-mib", type=int, default=64, help="multipart download part size")
    p.add_argument("--reserve-gib", type=float, default=DEFAULT_RESERVE_GIB,
                   help="space left free for images and pods, at least (GiB)")
    p.add_argument("--reserve-percent", type=float, default=DEFAULT_RESERVE_PERCENT,
                   help="share of the filesystem left free: kubelet's eviction threshold plus a margin")
    p.add_argument("--require-mount", default="", help="fail unless this path is a mount point")
    p.add_argument("--mount-wait-seconds", type=float, default=600.0)
    p.add_argument("--lock-timeout-seconds", type=float, default=3300.0)
    return p.parse_args(argv)


def main(argv: list) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    try:
        status = sync(args)
    except SyncError as error:
        log("FAILED: %s" % error)
        return error.exit_code
    log("done: %d downloaded (%s), %d deleted; cache holds %d objects, %s" % (
        status["downloaded"], human_bytes(status["downloaded_bytes"]), status["deleted"], status["objects"],
        human_bytes(status["bytes"])))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
