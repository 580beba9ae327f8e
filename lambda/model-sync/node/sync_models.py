#!/usr/bin/env python3
"""Make this GPU node's model cache hold exactly the models in the S3 models bucket.

The one source of the node-side sync: the boot-time systemd unit runs this file, and the SSM document
ComfyUI-SyncModels embeds it (the CDK app reads this file), so both always run the same code.

- Full mode (no --keys-b64): reconcile every model folder; files whose objects are gone are deleted.
- Keys mode (--keys-b64 = base64 JSON list): reconcile only those keys against the bucket's current
  state, so out-of-order or duplicate notifications cannot leave a wrong file behind.

Downloads land in a per-run staging directory on the same filesystem and are renamed into place when
complete, so ComfyUI never sees a half-written file: objects larger than one part through s5cmd (parallel
ranged parts), smaller ones by presigned GET in threads (split_downloads says why). A lock serializes runs;
the free space is checked before anything changes; status.json and the `ready` marker (written after the
first successful full sync) tell pods and operators where the node stands.

Whoever can write to the bucket chooses the keys, so only keys this script listed and checked are fetched,
each into a numbered staging file: s5cmd gets one `cp --raw` per key, never a wildcard (s5cmd lists a
wildcard again by itself and writes a key like `checkpoints/../../x` outside its destination:
https://github.com/peak/s5cmd/issues/872). Keys that cannot be a file below models/ are refused one by one
and reported; they hold nothing else back. The sync runs as an unprivileged user that may write only the
cache; root only prepares the cache for it (--prepare-cache-for).

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
import http.client
import json
import os
import pwd
import queue
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NO_SPACE, EXIT_LOCKED, EXIT_NOT_MOUNTED = 0, 1, 2, 3, 4, 5
GIB = 1024 ** 3
PROGRESS_EVERY_SECONDS = 5.0
MAX_ERRORS_IN_STATUS = 20
# Small objects come by presigned GET (split_downloads). A batch of URLs is signed when the queue has room for
# it, so each is used within seconds of signing; an hour is a ceiling, not a working time.
PRESIGN_EXPIRE = "1h"
PRESIGN_BATCH = 256
FETCH_ATTEMPTS = 5
FETCH_TIMEOUT_SECONDS = 60.0
GLOB_CHARACTERS = re.compile(r"[*?]")  # s5cmd's wildcards: `presign` cannot take them literally

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

NOT_A_MODEL_FOLDER = "not under a model folder"
FOLDER_MARKER = "a folder marker"
# Same characters as lib/model-folders.ts: C0 and C1 controls, DEL, Unicode line and paragraph separators.
# s5cmd's `run` reads one command per line and stops at a line it cannot parse, so a line break in a key
# would hold back every key after it, and any of them can forge lines in logs. Here also lone surrogates,
# which no S3 key holds but a malformed --keys-b64 could (TypeScript leaves them out: a JavaScript string
# holds every emoji as a surrogate pair).
UNSAFE_KEY_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
MAX_SEGMENT_BYTES = 255  # NAME_MAX of XFS and ext4


def model_key_problem(key: str, folders: frozenset) -> str | None:
    """Same rules as lib/model-folders.ts: why a key cannot be a model file, or None."""
    segments = key.split("/")
    if len(segments) < 2 or segments[0] not in folders:
        return NOT_A_MODEL_FOLDER
    if key.endswith("/"):
        return FOLDER_MARKER
    if UNSAFE_KEY_CHARACTERS.search(key):
        return "contains a control character or line break"
    if any(s in ("", ".", "..") for s in segments):
        return "has an empty, '.' or '..' path segment"
    if any(len(s.encode("utf-8")) > MAX_SEGMENT_BYTES for s in segments):
        return "has a file or folder name longer than %d bytes" % MAX_SEGMENT_BYTES
    return None


def is_refused(problem: str | None) -> bool:
    """A key in a model folder that cannot be stored as a file there: reported, unlike keys that are no models."""
    return problem is not None and problem not in (NOT_A_MODEL_FOLDER, FOLDER_MARKER)


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

    def place(self, staged: str, key: str) -> None:
        """Renames a complete download into place, after checking that the place is below models/.

        model_key_problem already refused keys with '..' or empty segments; the check here holds even if a
        folder below models/ were a symlink (this script never makes one).
        """
        final = self.path_of(key)
        os.makedirs(os.path.dirname(final), exist_ok=True)
        models = os.path.realpath(self.models)
        parent = os.path.realpath(os.path.dirname(final))
        if not (parent + os.sep).startswith(models + os.sep) or parent == models:
            raise SyncError("%r would land outside %s (in %s); not placed" % (key, self.models, parent))
        os.replace(staged, os.path.join(parent, os.path.basename(final)))

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


def prepare_cache(data_dir: str, user: str) -> None:
    """Run as root before the sync: creates data_dir, models/ and model-sync/ and gives them to `user`, the
    unprivileged user the sync runs as, with whatever an older sync left there as root (a one-time handover).

    Never follows a symlink: below data_dir everything belongs to `user`, who could otherwise point a folder
    at /etc and have root give it away. Folders are opened with O_NOFOLLOW and walked by descriptor (fwalk).
    """
    try:
        owner = pwd.getpwnam(user)
    except KeyError:
        raise SyncError("user %s does not exist: install-node-sync.sh creates it (useradd --system)" % user,
                        EXIT_USAGE)
    uid, gid = owner.pw_uid, owner.pw_gid
    os.makedirs(os.path.dirname(data_dir), exist_ok=True)
    top = open_own_folder(None, data_dir)
    try:
        for name in ("models", "model-sync"):
            fd = open_own_folder(top, name)
            try:
                hand_over(fd, uid, gid)
            finally:
                os.close(fd)
        hand_over(top, uid, gid, walk=False)
    finally:
        os.close(top)


def open_own_folder(parent_fd, name: str) -> int:
    """Creates the folder if missing (mode 0755: ComfyUI, uid 10001, reads the models); refuses a symlink."""
    try:
        os.mkdir(name, 0o755, dir_fd=parent_fd)
    except FileExistsError:
        pass
    try:
        return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent_fd)
    except OSError as error:  # ELOOP (a symlink) or ENOTDIR
        raise SyncError("cannot prepare the model cache: %s is not a folder (%s); remove it"
                        % (name, error.strerror), EXIT_USAGE)


def hand_over(fd: int, uid: int, gid: int, walk: bool = True) -> None:
    """Gives the folder (and, when root owns it, everything below that root owns) to uid:gid."""
    if os.fstat(fd).st_uid == uid:
        return  # handed over before; whatever is below was written by the sync user
    if walk:
        for _dir, dirs, files, dir_fd in os.fwalk(".", dir_fd=fd, topdown=False, follow_symlinks=False):
            for name in dirs + files:
                if os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_uid == 0:
                    os.chown(name, uid, gid, dir_fd=dir_fd, follow_symlinks=False)
    os.fchown(fd, uid, gid)
    os.fchmod(fd, 0o755)


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
        self.workers = args.workers
        self.base = [self.binary, "--json", "--numworkers", str(args.workers)]
        endpoint = args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint:
            self.base += ["--endpoint-url", endpoint]
        self.env = dict(os.environ)
        if args.region:
            self.env["AWS_REGION"] = args.region
        self.cp_flags = ["--concurrency", str(args.part_concurrency), "--part-size", str(args.part_size_mib)]
        self.part_size = args.part_size_mib * 1024 * 1024

    def presign(self, bucket: str, keys: list) -> dict:
        """key -> presigned GET URL, signed locally by s5cmd with the node's credentials (no request is made).

        `run` prints the URLs in no particular order, so each is matched to its key by its path. They are
        bearer tokens until they expire (PRESIGN_EXPIRE): they stay in memory and are never logged.
        """
        lines = ["presign --expire %s %s" % (PRESIGN_EXPIRE, shlex.quote("s3://%s/%s" % (bucket, key))) for key in keys]
        proc = subprocess.run([a for a in self.base if a != "--json"] + ["run"], env=self.env, capture_output=True,
                              input="".join(line + "\n" for line in lines), text=True, preexec_fn=die_with_parent)
        urls = {presigned_key(url, bucket): url for url in proc.stdout.split("\n") if url}
        if proc.returncode != 0 or set(urls) != set(keys):
            raise SyncError("s5cmd presign failed (exit code %d, %d of %d URLs): %s"
                            % (proc.returncode, len(set(urls) & set(keys)), len(keys), proc.stderr.strip()[:300]))
        return urls

    def list_objects(self, bucket: str, prefix: str) -> list:
        url = "s3://%s/%s*" % (bucket, prefix)
        proc = subprocess.run(self.base + ["ls", url], env=self.env, capture_output=True, text=True,
                              preexec_fn=die_with_parent)
        objects = []
        # "\n" only: str.splitlines() would also split at a NEL or U+2028 inside a key, which JSON leaves as is.
        for line in proc.stdout.split("\n"):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                raise SyncError("listing %s gave a line that is not JSON: %.200r" % (url, line))
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
    """Returns (model objects: key -> {size, etag}, refused keys: key -> why it cannot be a file here).

    Keys outside the model folders and folder markers are neither: they are not models.
    """
    prefixes = [""] if scope is None else sorted({k.split("/", 1)[0] + "/" for k in scope})
    remote, refused = {}, {}
    for prefix in prefixes:
        for entry in s5.list_objects(bucket, prefix):
            key = entry["key"][len("s3://%s/" % bucket):]
            problem = model_key_problem(key, folders)
            if problem is None:
                remote[key] = {"size": int(entry["size"]), "etag": entry.get("etag", "")}
            elif is_refused(problem) and (scope is None or key in scope):
                refused[key] = problem
    return remote, refused


def presigned_key(url: str, bucket: str) -> str | None:
    """The key a presigned URL of this bucket fetches, virtual-hosted (bucket.s3...) or path style (/bucket/key)."""
    parts = urllib.parse.urlsplit(url)
    path = urllib.parse.unquote(parts.path)
    if (parts.hostname or "").startswith(bucket.lower() + "."):
        return path[1:]
    return path[len(bucket) + 2:] if path.startswith("/%s/" % bucket) else None


def split_downloads(keys: list, remote: dict, part_size: int) -> tuple:
    """(fetched, copied): keys of objects of at most one part, which a presigned GET fetches, and the others,
    which s5cmd copies. Either way only the listed keys, each to a file of ours.

    s5cmd asks for an object's size (one HEAD) before it copies a single key (s5cmd v2.3.0, command/cp.go:
    Copy.Run), which doubles the requests for small files; a presigned URL (signed locally by s5cmd) takes
    one GET. Large objects keep s5cmd's parallel ranged parts, where one HEAD costs nothing. Presigning
    refuses '*' and '?' in keys (it has no --raw), so those go to s5cmd as well.
    """
    fetched = [k for k in keys if remote[k]["size"] <= part_size and not GLOB_CHARACTERS.search(k)]
    chosen = set(fetched)
    return fetched, [k for k in keys if k not in chosen]


def copy_commands(bucket: str, targets: list, cp_flags: list) -> list:
    """The lines of an `s5cmd run` file that copy exactly these (key, destination) pairs.

    One `cp --raw` per key: --raw makes the source one literal key (no listing, so no key that appears after
    ours; '*' and '?' in a name are no wildcards). Each lands in a numbered file of the staging folder, a name
    no key chooses. s5cmd splits each line like a POSIX shell (go-shellquote), which is what shlex.quote
    quotes for; a line break cannot be quoted, so keys must have passed model_key_problem.
    """
    lines = []
    for key, dest in targets:
        if UNSAFE_KEY_CHARACTERS.search(key):
            raise ValueError("refused key reached copy_commands: %r" % key)
        lines.append(" ".join(["cp", "--raw"] + cp_flags + [shlex.quote("s3://%s/%s" % (bucket, key)),
                                                             shlex.quote(dest)]))
    return lines


def fetch_object(url: str, dest: str) -> str | None:
    """GETs one presigned URL into dest, retrying throttling and server errors like the AWS SDKs do.
    Returns None, or why it failed (never the URL: it carries a signature)."""
    why = "not fetched"
    for attempt in range(FETCH_ATTEMPTS):
        if attempt:
            time.sleep(min(8.0, 0.25 * 2 ** attempt))
        try:
            with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as response, open(dest, "wb") as out:
                shutil.copyfileobj(response, out, 1024 * 1024)
            return None
        except urllib.error.HTTPError as error:
            why = "HTTP %d %s" % (error.code, error.reason)
            if error.code < 500 and error.code != 429:
                return why  # denied, expired or gone: the next sync tries again
        except (OSError, http.client.HTTPException) as error:  # URLError, timeouts, a connection cut short
            why = "%s: %s" % (type(error).__name__, error)
    return why


def fetch_presigned(s5: S5cmd, bucket: str, keys: list, dests: dict, finish) -> None:
    """Fetches keys with presigned GETs in s5.workers threads; calls finish(key, error or None) for each.

    URLs are signed a batch at a time, when the queue has room for it, so none waits long before its GET.
    """
    jobs = queue.Queue(maxsize=PRESIGN_BATCH)

    def work() -> None:
        while True:
            job = jobs.get()
            if job is None:
                return
            finish(job[0], fetch_object(job[1], dests[job[0]]))
    workers = [threading.Thread(target=work, daemon=True) for _ in range(max(1, min(s5.workers, len(keys))))]
    for worker in workers:
        worker.start()
    for start in range(0, len(keys), PRESIGN_BATCH):
        batch = keys[start:start + PRESIGN_BATCH]
        try:
            urls = s5.presign(bucket, batch)
        except SyncError as error:
            for key in batch:
                finish(key, str(error))
            continue
        for key in batch:
            jobs.put((key, urls[key]))
    for _ in workers:
        jobs.put(None)
    for worker in workers:
        worker.join()


def download(s5: S5cmd, cache: Cache, bucket: str, keys: list, remote: dict, manifest: dict, errors: list) -> tuple:
    staging = cache.new_staging_dir()
    dests = {key: os.path.join(staging, "%06d" % i) for i, key in enumerate(keys)}
    fetched, copied = split_downloads(keys, remote, s5.part_size)
    run_file = os.path.join(staging, "commands.txt")
    with open(run_file, "w", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in copy_commands(bucket, [(k, dests[k]) for k in copied], s5.cp_flags)))
    by_dest = {dests[k]: k for k in copied}
    progress = Progress(len(keys), sum(remote[k]["size"] for k in keys), staging)
    reporter = threading.Thread(target=progress.run, daemon=True)
    reporter.start()
    done = []
    lock = threading.Lock()  # finish runs in the fetch threads and in both s5cmd output readers

    def finish(key: str, error: str | None) -> None:
        with lock:
            if error:
                errors.append("%s: %s" % (key, error))
                return
            expected = remote[key]["size"]
            try:
                got = os.path.getsize(dests[key])
                if got != expected:
                    errors.append("%s: got %d bytes, expected %d" % (key, got, expected))
                    return
                cache.place(dests[key], key)
            except (OSError, SyncError) as failure:  # e.g. a folder where the key wants a file: it fails alone
                errors.append("%s: %s" % (key, failure))
                return
            manifest[key] = remote[key]
            done.append(key)
            progress.done_files += 1
            progress.done_bytes += expected

    def on_result(line: str) -> None:
        try:
            result = json.loads(line)
        except ValueError:
            with lock:
                errors.append(line.strip())
            return
        key = by_dest.get(result.get("destination") or "")
        if key is None:
            with lock:
                errors.append("%s: %s" % (result.get("source", "?"), result.get("error", "copy failed")))
        else:
            finish(key, None if result.get("success") and not result.get("error") else
                   result.get("error", "copy failed"))

    fetcher = threading.Thread(target=fetch_presigned, args=(s5, bucket, fetched, dests, finish), daemon=True)
    try:
        fetcher.start()
        code = s5.copy_many(run_file, on_result) if copied else 0
        while fetcher.is_alive():
            fetcher.join(0.2)  # a timeout, so SIGTERM still stops the run
    finally:
        progress.stop.set()
        progress.report()
        shutil.rmtree(staging, ignore_errors=True)
    missing = len(keys) - len(done)
    if missing and not errors:
        errors.append("%d objects were not downloaded (s5cmd exited with code %d)" % (missing, code))
    return done, progress.done_bytes


def report_refused(refused: dict, status: dict, full: bool) -> None:
    """Logs keys that cannot be files here and lists them in status.json; the sync goes on without them.
    repr() keeps a key with a line break on one log line."""
    lines = ["%r: %s" % (key, why) for key, why in sorted(refused.items())]
    if lines:
        log("refused %d keys that cannot be files below models/ (rename them in the bucket): %s"
            % (len(lines), "; ".join(lines[:MAX_ERRORS_IN_STATUS])))
    if full:  # a keys sync sees only some keys: the last full sync's list stays
        status["refused"] = lines[:MAX_ERRORS_IN_STATUS]


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
    try:
        cache = Cache(args.data_dir)
    except PermissionError as error:
        raise SyncError("cannot write the model cache as %s (%s): as root, run this script with "
                        "--prepare-cache-for %s first" % (current_user(), error, current_user()), EXIT_USAGE)
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
        remote, refused = list_remote(s5, args.bucket, folders, scope) if scope != set() else ({}, {})
        report_refused(refused, status, full=scope is None)
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
        done, done_bytes = download(s5, cache, args.bucket, downloads, remote, manifest, errors) if downloads \
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
    p.add_argument("--prepare-cache-for", default="", metavar="USER",
                   help="as root: wait for --require-mount, create the cache folders, give them to USER, and exit")
    return p.parse_args(argv)


def current_user() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return "uid %d" % os.geteuid()


def prepare(args) -> int:
    """--prepare-cache-for: the one step of a sync that runs as root (the unit's ExecStartPre=+, the document)."""
    if args.require_mount:
        try:
            wait_for_mount(args.require_mount, args.mount_wait_seconds)
        except SyncError as error:
            # Nothing to prepare; the sync itself fails with exit code 5, which its unit does not retry.
            log("not preparing the cache: %s" % error)
            return EXIT_OK
    prepare_cache(args.data_dir, args.prepare_cache_for)
    log("model cache %s prepared for %s" % (args.data_dir, args.prepare_cache_for))
    return EXIT_OK


def main(argv: list) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    # Files 0644 and folders 0755 whatever umask runuser or systemd hands down: ComfyUI pods (uid 10001) read
    # the models through a read-only hostPath, the model gate reads status.json and `ready`.
    os.umask(0o022)
    try:
        if args.prepare_cache_for:
            return prepare(args)
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
