"""Downloads of one run: into a per-run staging folder, each renamed into place when complete."""
from __future__ import annotations

import errno
import json
import os
import re
import shutil
import threading

from .aws import AwsError
from .cache import Cache
from .fetch import fetch_presigned
from .keys import ARCHIVED_OBJECT_ERROR
from .log import log
from .manifest import Manifest
from .plan import split_downloads
from .progress import Progress
from .run_status import RunStatus
from .s5cmd import S5cmd, copy_commands

# What the filesystem answers when a key cannot be a file there (a folder of that name is in the way, a file
# where a folder should be, a name it cannot store): that key is refused, the run goes on. Anything else
# (ENOSPC, EIO, EACCES...) fails the run.
UNPLACEABLE = frozenset({errno.ENAMETOOLONG, errno.EISDIR, errno.ENOTDIR, errno.ENOTEMPTY, errno.EEXIST,
                         errno.EILSEQ, errno.EINVAL})


# What s5cmd (NoSuchKey) and a presigned GET (HTTP 404) answer for a key deleted after the listing.
GONE = re.compile(r"^(NoSuchKey\b|HTTP 404\b)")


def key_of_result(result: dict, by_dest: dict, staging: str) -> str | None:
    """The key an s5cmd result line is about: by its destination, or for an error line (which has no
    "destination", only "command": `cp <source> <destination>`, unquoted) by the staging path it ends with."""
    dest = result.get("destination") or ""
    if not dest:
        command = result.get("command") or ""
        at = command.rfind(" " + staging + os.sep)
        dest = command[at + 1:] if at >= 0 else ""
    return by_dest.get(dest)


# How often a key is fetched again when it keeps changing while it downloads; then the next sync tries.
VERSION_ROUNDS = 3


def download(s5: S5cmd, cache: Cache, bucket: str, keys: list, remote: dict, manifest: Manifest,
             status: RunStatus, errors: list, refused: dict, current_version, check_space) -> tuple:
    """Downloads keys and places each as it completes; returns (keys placed, their bytes). A key that cannot
    be a file here goes to refused (key -> why), any other failure to errors.

    A model replaced while it downloads is never placed mixed: s5cmd fetches a large object in ranged parts,
    which may come from both versions, so each is placed only if a HEAD afterwards (current_version(key) ->
    {etag, size} or None when gone) still shows the version listed; else it is fetched again, up to
    VERSION_ROUNDS times, once check_space(bytes) agrees the new versions fit. A presigned GET reads one
    version whole, and the manifest records that version.
    """
    done, done_bytes = [], 0
    for _ in range(VERSION_ROUNDS):
        changed = {}
        placed, placed_bytes = download_round(s5, cache, bucket, keys, remote, manifest, status, errors, refused,
                                              current_version, changed)
        done += placed
        done_bytes += placed_bytes
        gone = sorted(k for k, version in changed.items() if version is None)
        if gone:
            log("%d objects were deleted while they downloaded, not placed: %s" % (len(gone), ", ".join(map(repr, gone[:5]))))
        keys = sorted(k for k, version in changed.items() if version is not None)
        if not keys:
            return done, done_bytes
        log("%d objects changed while they downloaded (%s); fetching their new versions"
            % (len(keys), ", ".join(map(repr, keys[:5]))))
        remote.update((k, changed[k]) for k in keys)
        check_space(sum(remote[k]["size"] for k in keys))
    errors.extend("%s: changed while each of %d downloads ran; the next sync tries again" % (k, VERSION_ROUNDS)
                  for k in keys)
    return done, done_bytes


def download_round(s5: S5cmd, cache: Cache, bucket: str, keys: list, remote: dict, manifest: Manifest,
                   status: RunStatus, errors: list, refused: dict, current_version, changed: dict) -> tuple:
    """One round of download: every key once. Keys whose object changed meanwhile go to changed."""
    staging = cache.new_staging_dir()
    dests = {key: os.path.join(staging, "%06d" % i) for i, key in enumerate(keys)}
    fetched, copied = split_downloads(keys, remote, s5.part_size)
    run_file = os.path.join(staging, "commands.txt")
    with open(run_file, "w", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in copy_commands(bucket, [(k, dests[k]) for k in copied], s5.cp_flags)))
    by_dest = {dests[k]: k for k in copied}
    progress = Progress(len(keys), sum(remote[k]["size"] for k in keys), staging, status)
    reporter = threading.Thread(target=progress.run, daemon=True)
    reporter.start()
    done = []
    lock = threading.Lock()  # finish runs in the fetch threads and in both s5cmd output readers

    def unchanged(key: str) -> dict | None:
        """The listed version if the key still holds it after an s5cmd copy, else None (changed[key] set)."""
        try:
            now = current_version(key)
        except AwsError as error:
            with lock:
                errors.append("%s: its version could not be checked after the download: %s" % (key, error))
            return None
        listed = remote[key]
        if now is not None and now["etag"] == listed["etag"] and now["size"] == listed["size"]:
            return listed
        with lock:
            changed[key] = now
        return None

    def finish(key: str, error: str | None, version: dict | None) -> None:
        if error:
            with lock:
                if GONE.search(error):  # deleted after the listing: its own notification deletes the file
                    changed[key] = None
                elif ARCHIVED_OBJECT_ERROR in error:  # Intelligent-Tiering's archive tiers list as readable
                    refused[key] = "is archived (%s): restore it or copy it back to STANDARD" % ARCHIVED_OBJECT_ERROR
                else:
                    errors.append("%s: %s" % (key, error))
            return
        if version is None:  # copied by s5cmd in ranged parts
            version = unchanged(key)
            if version is None:
                return
        with lock:
            try:
                got = os.path.getsize(dests[key])
                if got != version["size"]:
                    errors.append("%s: got %d bytes, expected %d" % (key, got, version["size"]))
                    return
                cache.place(dests[key], key)
            except OSError as failure:
                if failure.errno in UNPLACEABLE:
                    refused[key] = "cannot be placed: %s" % (failure.strerror or failure)
                else:
                    errors.append("%s: %s" % (key, failure))
                return
            except Exception as failure:  # noqa: BLE001 (SyncError, or a bug: that key fails, the others go on)
                errors.append("%s: %s" % (key, failure))
                return
            manifest.placed(key, got, version["etag"] or remote[key]["etag"])
            done.append(key)
            progress.placed(got)

    def on_result(line: str) -> None:
        try:
            result = json.loads(line)
        except ValueError:
            with lock:
                errors.append(line.strip())
            return
        key = key_of_result(result, by_dest, staging)
        if key is None:
            with lock:
                errors.append("%s: %s" % (result.get("command") or result.get("source", "?"),
                                          result.get("error", "copy failed")))
        else:
            finish(key, None if result.get("success") and not result.get("error") else
                   result.get("error", "copy failed"), None)

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
    missing = len(keys) - len(done) - len(set(keys) & (set(refused) | set(changed)))
    if missing and not errors:
        errors.append("%d objects were not downloaded (s5cmd exited with code %d)" % (missing, code))
    return done, progress.done_bytes
