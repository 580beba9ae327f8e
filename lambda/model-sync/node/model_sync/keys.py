"""Which bucket keys are model files a node can store: the rules of lib/model-folders.ts (one fixture,
test/fixtures/model-keys.json, drives both test suites)."""
from __future__ import annotations

import base64
import binascii
import json
import re

from .outcome import EXIT_USAGE, SyncError

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


def clashing_keys(keys) -> dict:
    """Keys that other keys use as a folder (`loras/foo` beside `loras/foo/bar.pt`): key -> why. A node cannot
    hold a file and a folder of one name; the deeper keys win on every node alike (a file cannot hold files).
    Same rule as folderClashes in lib/model-folders.ts."""
    present = set(keys)
    inside = {}
    for key in sorted(present):
        segments = key.split("/")
        for depth in range(1, len(segments)):
            folder = "/".join(segments[:depth])
            if folder in present and folder not in inside:
                inside[folder] = key
    return {folder: "is also the folder of %r; a node cannot store a file and a folder of one name" % key
            for folder, key in inside.items()}


# S3 answers a GET in these classes with 403 InvalidObjectState until the object is restored
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/restoring-objects.html); same list as
# ARCHIVED_STORAGE_CLASSES in lib/model-folders.ts. Intelligent-Tiering's archive tiers list as
# INTELLIGENT_TIERING: their GET says so (ARCHIVED_OBJECT_ERROR).
ARCHIVED_STORAGE_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE"})
ARCHIVED_OBJECT_ERROR = "InvalidObjectState"


def storage_class_problem(storage_class: str) -> str | None:
    if storage_class not in ARCHIVED_STORAGE_CLASSES:
        return None
    return "is archived in %s, which nodes cannot read: copy it back over itself with --storage-class STANDARD" \
        % storage_class
