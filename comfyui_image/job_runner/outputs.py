"""The files a finished prompt wrote (its history `outputs`), and where each goes in the outputs bucket."""
from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from typing import List


@dataclass(frozen=True)
class OutputFile:
    node: str
    media_type: str
    filename: str
    subfolder: str
    folder_type: str

    def key(self, prefix: str, owner: str, job_id: str, job_subfolder: str) -> str:
        """jobs/<owner>/<job id>/<filename>; a folder the workflow's own prefix named is kept below it."""
        rest = self.subfolder
        if rest == job_subfolder or rest.startswith(job_subfolder + "/"):
            rest = rest[len(job_subfolder):].strip("/")
        return f"{prefix}{owner}/{job_id}/" + (f"{rest}/" if rest else "") + self.filename

    @property
    def content_type(self) -> str:
        return mimetypes.guess_type(self.filename)[0] or "application/octet-stream"


def output_files(history_entry: dict) -> List[OutputFile]:
    """Saved files only (type 'output'): ComfyUI's PreviewImage writes 'temp' files nobody asked to keep.
    Shape: {"outputs": {node: {"images": [{"filename", "subfolder", "type"}], "text": [...]}}}."""
    files = []
    for node, produced in sorted((history_entry.get("outputs") or {}).items()):
        if not isinstance(produced, dict):
            continue
        for media_type, items in produced.items():
            if not isinstance(items, list):
                continue
            for item in items:
                if (isinstance(item, dict) and isinstance(item.get("filename"), str)
                        and item.get("type", "output") == "output"):
                    files.append(OutputFile(str(node), media_type, item["filename"],
                                            str(item.get("subfolder") or ""), "output"))
    return files


def output_record(file: OutputFile, key: str, size: int) -> dict:
    """The job item's `outputs` entry (docs/jobs.md, job view); the API adds the presigned url."""
    return {"node": file.node, "filename": file.filename, "media_type": file.media_type, "size": size,
            "content_type": file.content_type, "key": key}
