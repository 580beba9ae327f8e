"""The bucket as the node sees it: which model objects there are, and which keys it refuses."""
from __future__ import annotations

from .keys import is_refused, model_key_problem
from .s5cmd import S5cmd


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
                # s5cmd leaves "size" out of its JSON when it is 0 (Go's omitempty), e.g. for ComfyUI's empty
                # put_*_here placeholders.
                remote[key] = {"size": int(entry.get("size", 0)), "etag": entry.get("etag", "")}
            elif is_refused(problem) and (scope is None or key in scope):
                refused[key] = problem
    return remote, refused
