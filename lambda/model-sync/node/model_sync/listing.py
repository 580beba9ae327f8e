"""The bucket as the node sees it: which model objects there are, and which keys it refuses."""
from __future__ import annotations

from .keys import clashing_keys, is_refused, model_key_problem, storage_class_problem
from .s5cmd import S5cmd


def list_remote(s5: S5cmd, bucket: str, folders: frozenset, scope: set | None) -> tuple:
    """Returns (model objects: key -> {size, etag}, refused keys: key -> why it cannot be a file here).

    Keys outside the model folders and folder markers are neither: they are not models. A keys run lists the
    whole top folder of each key, so a folder clash with a key it was not told about is seen too.
    """
    prefixes = [""] if scope is None else sorted({k.split("/", 1)[0] + "/" for k in scope})
    remote, refused = {}, {}
    for prefix in prefixes:
        for entry in s5.list_objects(bucket, prefix):
            key = entry["key"][len("s3://%s/" % bucket):]
            problem = model_key_problem(key, folders) or storage_class_problem(entry.get("storage_class", ""))
            if problem is None:
                # s5cmd leaves "size" out of its JSON when it is 0 (Go's omitempty), e.g. for ComfyUI's empty
                # put_*_here placeholders.
                remote[key] = {"size": int(entry.get("size", 0)), "etag": entry.get("etag", "")}
            elif is_refused(problem):
                refused[key] = problem
    for key, problem in clashing_keys(remote).items():
        del remote[key]
        refused[key] = problem
    if scope is not None:
        refused = {k: v for k, v in refused.items() if k in scope}
    return remote, refused
