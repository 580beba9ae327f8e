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
