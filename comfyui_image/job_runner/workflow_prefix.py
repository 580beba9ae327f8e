"""Every SaveImage-style `filename_prefix` input is rewritten to jobs/<job id>/<original>, so ComfyUI saves
a job's files in a folder of their own (the output shipper leaves `jobs/` alone; docs/jobs.md)."""
from __future__ import annotations

import copy
import posixpath

PREFIX_INPUT = "filename_prefix"


def job_folder(subfolder: str, job_id: str) -> str:
    return f"{subfolder}/{job_id}"


def rewrite_filename_prefixes(prompt: dict, job_id: str, subfolder: str) -> dict:
    """A copy of the API-format prompt; links (["4", 0]) and non-string values are left as they are."""
    folder = job_folder(subfolder, job_id)
    rewritten = copy.deepcopy(prompt)
    for node in rewritten.values():
        inputs = node.get("inputs") if isinstance(node, dict) else None
        if not isinstance(inputs, dict) or not isinstance(inputs.get(PREFIX_INPUT), str):
            continue
        inputs[PREFIX_INPUT] = f"{folder}/{_inside(inputs[PREFIX_INPUT])}"
    return rewritten


def _inside(original: str) -> str:
    """The original prefix as a relative path that stays inside the job's folder: ComfyUI refuses a prefix
    that leaves the output folder, and one that climbed out of jobs/<id> would escape the cleanup."""
    path = posixpath.normpath("/" + original.replace("\\", "/")).lstrip("/")
    return path or "ComfyUI"
