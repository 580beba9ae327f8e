"""One sync run: take the lock, list, plan, check the space, delete, download, and record the outcome."""
from __future__ import annotations

import os
import time

from .aws import Credentials, head_object
from .cache import Cache
from .download import download
from .keys import decode_keys
from .listing import list_remote
from .deadline import Deadline, DeadlineReached, first_sync_deadline, run_deadline
from .log import human_bytes, log
from .manifest import Manifest
from .outcome import EXIT_LOCKED, EXIT_NO_SPACE, EXIT_NOT_MOUNTED, EXIT_OK, EXIT_USAGE, SyncError
from .plan import free_space_reserve, plan_sync, space_shortfall
from .prepare import current_user, wait_for_mount
from .run_queue import RunQueue, merged_scope
from .run_status import MAX_ERRORS_IN_STATUS, RunStatus
from .s5cmd import S5cmd


def report_refused(refused: dict, status: RunStatus, scope: set | None) -> None:
    """Logs keys that cannot be files here and lists them in status.json; the sync goes on without them.
    A keys run replaces only the entries of its own keys. repr() keeps a key with a line break on one line."""
    lines = ["%r: %s" % (key, why) for key, why in sorted(refused.items())]
    if lines:
        log("refused %d keys that cannot be files below models/ (rename them in the bucket): %s"
            % (len(lines), "; ".join(lines[:MAX_ERRORS_IN_STATUS])))
    if scope is not None:
        mine = tuple("%r: " % key for key in scope)
        lines = sorted(lines + [line for line in status.fields.get("refused", []) if not line.startswith(mine)])
    status.update(refused=lines[:MAX_ERRORS_IN_STATUS])


def check_settings(args) -> tuple:
    """(folders, scope) from the arguments, or a SyncError that names the bad one."""
    folders = frozenset(f.strip() for f in args.folders.split(",") if f.strip())
    if not folders:
        raise SyncError("--folders must list at least one model folder", EXIT_USAGE)
    if not (0 <= args.reserve_percent < 100 and args.reserve_gib >= 0):
        raise SyncError("--reserve-percent must be 0..99 and --reserve-gib at least 0, got %g and %g"
                        % (args.reserve_percent, args.reserve_gib), EXIT_USAGE)
    if not (os.path.isfile(args.s5cmd) and os.access(args.s5cmd, os.X_OK)):
        raise SyncError("s5cmd not found at %s: the node was not bootstrapped by install-node-sync.sh "
                        "(or pass --s5cmd)" % args.s5cmd, EXIT_USAGE)
    return folders, decode_keys(args.keys_b64, folders)


def open_cache(args) -> Cache:
    if args.require_mount:
        wait_for_mount(args.require_mount, args.mount_wait_seconds)
    try:
        return Cache(args.data_dir)
    except PermissionError as error:
        raise SyncError("cannot write the model cache as %s (%s): as root, run this script with "
                        "--prepare-cache-for %s first" % (current_user(), error, current_user()), EXIT_USAGE)


# Why space the deletions should have freed may still be in use: ComfyUI reads models through mmap, and an
# unlinked file keeps its blocks until the last process unmaps it.
STILL_OPEN = (" Deleted models that ComfyUI still has open keep their space until it lets go of them: the next "
              "sync, after its pods restart or unload them, finds it.")


def check_space(cache: Cache, args, need: int, freed: int, counts: str, hint: str = "") -> None:
    """Raises EXIT_NO_SPACE when the downloads would not leave the reserve free; freed is what deletions still
    to come will free."""
    disk = os.statvfs(cache.models)
    free = disk.f_bavail * disk.f_frsize
    reserve = free_space_reserve(disk.f_blocks * disk.f_frsize, args.reserve_gib, args.reserve_percent)
    log("%s; %s free, %s kept free" % (counts, human_bytes(free), human_bytes(reserve)))
    missing = space_shortfall(need, free, freed, reserve)
    if missing:
        raise SyncError(
            "the models do not fit: %s to download, %s free on %s after deletions, %s kept free for images, "
            "pod data and kubelet's eviction threshold (--reserve-percent %g, at least --reserve-gib %g); "
            "%s short. Use an instance type with more instance store, or remove models from the bucket.%s"
            % (human_bytes(need), human_bytes(free + freed), cache.models, human_bytes(reserve),
               args.reserve_percent, args.reserve_gib, human_bytes(missing), hint), EXIT_NO_SPACE)


def sync_pass(args, cache: Cache, folders: frozenset, scope: set | None, status: RunStatus) -> None:
    """Reconciles scope (None: everything) with the bucket; records the outcome in status."""
    mode = "full" if scope is None else "keys"
    status.begin(args.bucket, mode)
    errors, refused = [], {}
    manifest = Manifest(cache)
    try:
        if scope is not None and not scope:
            log("no model keys to reconcile")
        local = cache.local_files(folders)
        # Trust the manifest only for files still on disk at the size it recorded.
        manifest.keep_only({k for k, v in manifest.entries.items()
                            if k in local and os.path.getsize(cache.path_of(k)) == v.get("size")})
        s5 = S5cmd(args)
        remote, refused = list_remote(s5, args.bucket, folders, scope) if scope != set() else ({}, {})
        downloads, deletes = plan_sync(remote, manifest.entries, local, scope)
        need = sum(remote[k]["size"] for k in downloads)
        freed = sum(os.path.getsize(cache.path_of(k)) for k in deletes if k in local)
        check_space(cache, args, need, freed, "%s sync of s3://%s: %d objects listed, %d to download (%s), %d to "
                    "delete" % (mode, args.bucket, len(remote), len(downloads), human_bytes(need), len(deletes)))
        for key in deletes:
            cache.remove_model(key)
            manifest.deleted(key)
        if deletes and downloads:  # what the deletions really freed, not what they should have
            check_space(cache, args, need, 0, "after %d deletions" % len(deletes), STILL_OPEN)
        credentials = Credentials()

        def current_version(key: str) -> dict | None:
            return head_object(s5.endpoint, s5.region, credentials, args.bucket, key)

        def space_for_new_versions(need: int) -> None:
            check_space(cache, args, need, 0, "%s more to download" % human_bytes(need))
        done, done_bytes = download(s5, cache, args.bucket, downloads, remote, manifest, status, errors, refused,
                                    current_version, space_for_new_versions) if downloads else ([], 0)
        counts = {"downloaded": len(done), "downloaded_bytes": done_bytes, "deleted": len(deletes),
                  "objects": len(manifest.entries), "bytes": sum(v["size"] for v in manifest.entries.values())}
        if errors:
            failed = len(downloads) - len(done) - len(set(downloads) & set(refused))
            status.update(**counts)
            raise SyncError("%d of %d downloads failed; first: %s" % (failed, len(downloads), errors[0]))
        status.succeeded(**counts)
        if scope is None:
            cache.mark_ready()
            status.ready()
    except BaseException as error:  # SyncError, or SIGTERM/Ctrl-C arriving as SystemExit/KeyboardInterrupt
        reason = str(error) if isinstance(error, SyncError) else "interrupted (%s)" % type(error).__name__
        status.failed([reason] + errors)
        raise
    finally:
        report_refused(refused, status, scope)
        manifest.close()
        status.end()


def done_summary(fields: dict) -> str:
    """What a successful run says after `done:` (comfyctl models status shows it)."""
    return "%d downloaded (%s), %d deleted; cache holds %d objects, %s" % (
        fields.get("downloaded", 0), human_bytes(fields.get("downloaded_bytes", 0)), fields.get("deleted", 0),
        fields.get("objects", 0), human_bytes(fields.get("bytes", 0)))


def wait_for_turn(queue: RunQueue, mine: str, deadline: Deadline, timeout: float) -> dict | None:
    """None once this run holds the lock; the answer, if a run that held it synced this run's request first."""
    give_up = time.monotonic() + timeout
    announced = False
    while True:
        answer = queue.collect(mine)
        if answer is not None:
            return answer
        if queue.try_lock():
            answer = queue.collect(mine)  # answered just before its holder let go
            if answer is not None:
                queue.unlock()
            return answer
        if not announced:
            log("another sync is running on this node; its run syncs this request too before it ends "
                "(waiting up to %d s for it)" % min(timeout, deadline.remaining()))
            announced = True
        if time.monotonic() > give_up or deadline.expired():
            raise SyncError("another sync held the lock %s; this request stays queued, and that sync (or the "
                            "next) runs it before it ends" % ("until this run's deadline" if deadline.expired()
                                                              else "for more than %d s" % timeout), EXIT_LOCKED)
        time.sleep(0.2)


# Failures that no retry heals (bad arguments, models that do not fit, no instance store): the boot unit does
# not retry them, so a first sync that ends so has given up.
FINAL_EXIT_CODES = frozenset({EXIT_USAGE, EXIT_NO_SPACE, EXIT_NOT_MOUNTED})


def drain_queue(args, cache: Cache, folders: frozenset, queue: RunQueue, mine: str, deadline: Deadline,
                status: RunStatus) -> dict:
    """Holding the lock: syncs every queued request, this run's among them, then lets go and looks again.
    Returns the status of the pass that answered this run's own request, or raises its failure."""
    own = None  # (the error, or None; status fields) of the pass that answered this run's request
    while True:
        try:
            with deadline.armed():
                requests = queue.pending()
                while requests:
                    names = [name for name, _scope in requests]
                    try:
                        sync_pass(args, cache, folders, merged_scope(requests), status)
                        outcome = (None, EXIT_OK, "done: " + done_summary(status.fields))
                    except DeadlineReached:
                        raise
                    except SyncError as error:
                        outcome = (error, error.exit_code, "FAILED: %s" % error)
                    queue.answer(names, outcome[1], outcome[2])
                    if mine in names:
                        own = (outcome[0], dict(status.fields))
                        queue.collect(mine)
                    requests = queue.pending()
        except DeadlineReached as reached:
            if own is None:
                if deadline.final:
                    status.give_up("%s, before the first full sync completed" % reached)
                raise
            log("stopped at its deadline after its own request; %d queued requests wait for the next run"
                % len(queue.pending()))
        else:
            if own is not None and own[0] is not None and deadline.final and own[0].exit_code in FINAL_EXIT_CODES:
                status.give_up(str(own[0]))
        finally:
            queue.unlock()
        # A request filed after the last look, by a run that then left (its deadline), would wait for the next
        # run: look once more after letting go, and take the lock again if nobody else did.
        if deadline.expired() or not queue.pending() or not queue.try_lock():
            break
    queue.forget_old_answers()
    if own is None:
        raise deadline.reached()
    if own[0] is not None:
        raise own[0]
    return own[1]


def sync(args) -> dict:
    folders, scope = check_settings(args)
    cache = open_cache(args)
    if cache.withdraw_stale_ready():
        log("the node rebooted since its last full sync: `ready` withdrawn until this boot's full sync completes")
    status = RunStatus(cache)
    first_sync = first_sync_deadline(cache.state, args.first_sync_deadline_seconds, bool(status.fields.get("first_ready")))
    deadline = run_deadline(args.stop_by, first_sync, args.first_sync_deadline_seconds)
    queue = RunQueue(cache)
    try:
        mine = queue.submit(scope)
        answer = wait_for_turn(queue, mine, deadline, args.lock_timeout_seconds)
        if answer is None:
            status = RunStatus(cache)  # as the last holder left it
            return drain_queue(args, cache, folders, queue, mine, deadline, status)
        said = answer["summary"].split(": ", 1)[-1]
        if answer["exit_code"] != EXIT_OK:
            raise SyncError("the sync that held the lock ran this request: %s" % said, answer["exit_code"])
        return {"state": "ok", "summary": "the sync that held the lock ran this request: " + said}
    finally:
        queue.close()
