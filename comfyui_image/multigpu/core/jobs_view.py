"""ComfyUI's /api/jobs view over the front's queues and history (process mode: the workers keep no
history and one queue each, so the front answers /api/jobs itself; docs/process-mode-design.md 3.2).

Follows v0.33's `comfy_execution/jobs.py` (get_all_jobs, get_job, get_outputs_summary) and the
checks of its `server.py` `get_jobs` and `cancel_jobs_batch`, read there and written here: the
same statuses, filters, sort, paging, outputs summary and 400 bodies, so a client cannot tell
which mode answered. Pure: queue items are stock 5-item lists `[number, prompt_id, prompt,
extra_data, outputs_to_execute]`, history entries the shape of `core/history.py`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple

from .prompt_ids import prompt_id_problem

PENDING, IN_PROGRESS, COMPLETED, FAILED, CANCELLED = "pending", "in_progress", "completed", "failed", "cancelled"
# In v0.33's order: the 400 body lists them so.
STATUSES = (PENDING, IN_PROGRESS, COMPLETED, FAILED, CANCELLED)
_FINISHED = {COMPLETED, FAILED, CANCELLED}
SORT_FIELDS = ("created_at", "execution_duration")


class JobsQueryError(ValueError):
    """A query GET /api/jobs refuses: `body` is the 400 answer."""

    def __init__(self, message: str):
        super().__init__(message)
        self.body = {"error": message}


@dataclass(frozen=True)
class JobsQuery:
    statuses: Tuple[str, ...] = STATUSES
    workflow_id: Optional[str] = None
    sort_by: str = "created_at"
    sort_order: str = "desc"
    limit: Optional[int] = None
    offset: int = 0


@dataclass(frozen=True)
class JobSources:
    """The front's state at one moment; `gpu_of` adds our `gpu_id` to queued jobs (not in stock,
    as in our /history: clients that read known keys are unaffected)."""
    running: Sequence[Sequence[Any]] = ()
    pending: Sequence[Sequence[Any]] = ()
    history: Mapping[str, dict] = field(default_factory=dict)
    gpu_of: Mapping[str, int] = field(default_factory=dict)


def parse_jobs_query(query: Mapping[str, str]) -> JobsQuery:
    """GET /api/jobs's query string, checked in v0.33's order with its messages."""
    statuses = STATUSES
    if query.get("status"):
        # A value of only commas filters to nothing, as stock's empty list does.
        statuses = tuple(s.strip().lower() for s in query["status"].split(",") if s.strip())
        invalid = [s for s in statuses if s not in STATUSES]
        if invalid:
            raise JobsQueryError(f"Invalid status value(s): {', '.join(invalid)}. "
                                 f"Valid values: {', '.join(STATUSES)}")
    sort_by = query.get("sort_by", "created_at").lower()
    if sort_by not in SORT_FIELDS:
        raise JobsQueryError("sort_by must be 'created_at' or 'execution_duration'")
    sort_order = query.get("sort_order", "desc").lower()
    if sort_order not in ("asc", "desc"):
        raise JobsQueryError("sort_order must be 'asc' or 'desc'")
    limit = None
    if "limit" in query:
        limit = _integer(query["limit"], "limit")
        if limit <= 0:
            raise JobsQueryError("limit must be a positive integer")
    offset = max(_integer(query["offset"], "offset"), 0) if "offset" in query else 0
    return JobsQuery(statuses, query.get("workflow_id") or None, sort_by, sort_order, limit, offset)


def _integer(text: str, name: str) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        raise JobsQueryError(f"{name} must be an integer") from None


def list_jobs(sources: JobSources, query: JobsQuery) -> Dict[str, Any]:
    """GET /api/jobs's body: running, then pending, then finished jobs, filtered, sorted, paged."""
    jobs = []
    if IN_PROGRESS in query.statuses:
        jobs += [queued_job(item, IN_PROGRESS, sources.gpu_of) for item in sources.running]
    if PENDING in query.statuses:
        jobs += [queued_job(item, PENDING, sources.gpu_of) for item in sources.pending]
    if _FINISHED & set(query.statuses):
        finished = (finished_job(pid, entry) for pid, entry in sources.history.items())
        jobs += [job for job in finished if job["status"] in query.statuses]
    if query.workflow_id:
        jobs = [job for job in jobs if job.get("workflow_id") == query.workflow_id]
    # sorted() is stable with reverse=True too: ties keep the order above, as in stock.
    jobs = sorted(jobs, key=_SORT_KEYS[query.sort_by], reverse=query.sort_order == "desc")
    page = jobs[query.offset:]
    page = page if query.limit is None else page[:query.limit]
    return {"jobs": page, "pagination": {"offset": query.offset, "limit": query.limit, "total": len(jobs),
                                         "has_more": query.offset + len(page) < len(jobs)}}


def _duration(job: dict) -> float:
    start, end = job.get("execution_start_time", 0), job.get("execution_end_time", 0)
    return end - start if start and end else 0


_SORT_KEYS: Dict[str, Callable[[dict], Any]] = {
    "created_at": lambda job: job.get("create_time", 0), "execution_duration": _duration}


def find_job(prompt_id: str, sources: JobSources) -> Optional[dict]:
    """GET /api/jobs/{id}: a finished job with its outputs and workflow, else a queued one, else None."""
    if prompt_id in sources.history:
        return finished_job(prompt_id, sources.history[prompt_id], detailed=True)
    for items, status in ((sources.running, IN_PROGRESS), (sources.pending, PENDING)):
        for item in items:
            if item[1] == prompt_id:
                return queued_job(item, status, sources.gpu_of)
    return None


def invalid_job_ids(job_ids: Sequence[Any]) -> list:
    """The ids of a batch cancel that are not canonical UUIDs, non-strings shown as Python shows them."""
    return [jid if isinstance(jid, str) else repr(jid)
            for jid in job_ids if prompt_id_problem(jid, "uuid") is not None]


def _metadata(extra_data: Any) -> Tuple[Any, Any]:
    """(create_time, workflow_id): stock's POST /prompt stamps create_time (ms); the web UI puts the
    workflow (with its id) in extra_pnginfo."""
    extra = extra_data if isinstance(extra_data, dict) else {}
    pnginfo = extra.get("extra_pnginfo")
    workflow = pnginfo.get("workflow") if isinstance(pnginfo, dict) else None
    return extra.get("create_time"), workflow.get("id") if isinstance(workflow, dict) else None


def _pruned(job: dict) -> dict:
    return {k: v for k, v in job.items() if v is not None}


def queued_job(item: Sequence[Any], status: str, gpu_of: Mapping[str, int]) -> dict:
    create_time, workflow_id = _metadata(item[3])
    return _pruned({"id": item[1], "status": status, "priority": item[0], "create_time": create_time,
                    "outputs_count": 0, "previewable_outputs_count": 0, "workflow_id": workflow_id,
                    "gpu_id": gpu_of.get(item[1])})


def finished_job(prompt_id: str, entry: dict, detailed: bool = False) -> dict:
    priority, _, prompt, extra_data, _ = entry["prompt"][:5]
    create_time, workflow_id = _metadata(extra_data)
    status_info = entry.get("status") or {}
    start = end = error = None
    interrupted = False
    for message in status_info.get("messages", []):
        if not (isinstance(message, (list, tuple)) and len(message) >= 2 and isinstance(message[1], dict)):
            continue
        event, data = message[0], message[1]
        if event == "execution_start":
            start = data.get("timestamp")
        elif event in ("execution_success", "execution_error", "execution_interrupted"):
            end = data.get("timestamp")
            error = data if event == "execution_error" else error
            interrupted = interrupted or event == "execution_interrupted"
    status = COMPLETED
    if status_info.get("status_str") == "error":
        status = CANCELLED if interrupted else FAILED
    outputs = entry.get("outputs") or {}
    count, preview = outputs_summary(outputs)
    job = _pruned({"id": prompt_id, "status": status, "priority": priority, "create_time": create_time,
                   "execution_start_time": start, "execution_end_time": end, "execution_error": error,
                   "outputs_count": count, "previewable_outputs_count": previewable_count(outputs),
                   "preview_output": preview, "workflow_id": workflow_id, "gpu_id": entry.get("gpu_id")})
    if detailed:
        job.update(outputs=normalized_outputs(outputs), execution_status=status_info,
                   workflow={"prompt": prompt, "extra_data": extra_data})
    return job


# ---- outputs: jobs.py's counting and preview choice (its frontend's rules, queueStore.ts) ------
PREVIEWABLE_MEDIA = {"images", "video", "audio", "3d", "text"}
THREE_D_SUFFIXES = (".obj", ".fbx", ".gltf", ".glb", ".usdz")
TEXT_SUFFIXES = (".txt", ".md", ".json")
TEXT_PREVIEW_CHARS = 1024


def _filename(item: dict) -> str:
    return str(item.get("filename", "")).lower()


def _as_file(item: Any) -> Optional[dict]:
    """A dict item as it is; a string naming a 3D file as a file item; anything else None."""
    if isinstance(item, dict):
        return item
    if isinstance(item, str) and item.lower().endswith(THREE_D_SUFFIXES):
        return {"filename": item, "type": "output", "subfolder": "", "mediaType": "3d"}
    return None


def _previewable(media_type: str, item: dict) -> bool:
    fmt = str(item.get("format") or "")
    return (media_type in PREVIEWABLE_MEDIA or fmt.startswith(("video/", "audio/"))
            or _filename(item).endswith(THREE_D_SUFFIXES + TEXT_SUFFIXES))


def _media_lists(outputs: dict):
    """(node_id, media_type, items) for every list of output items ('animated' is a flag)."""
    for node_id, node_outputs in outputs.items():
        if isinstance(node_outputs, dict):
            for media_type, items in node_outputs.items():
                if media_type != "animated" and isinstance(items, list):
                    yield node_id, media_type, items


def _text_preview(item: Any, node_id: str) -> dict:
    # A node's ui text is often a tuple; harvested over JSON it arrives as a list: the same first item.
    text = (str(item[0]) if item else "") if isinstance(item, (list, tuple)) else str(item)
    preview = {"content": text[:TEXT_PREVIEW_CHARS], "nodeId": node_id, "mediaType": "text"}
    if len(text) > TEXT_PREVIEW_CHARS:
        preview["truncated"] = True
    return preview


def outputs_summary(outputs: dict) -> Tuple[int, Optional[dict]]:
    """(how many output items, the one to preview): a saved visual output first, then any other
    visual one (temp previews), then a saved text file, then raw text (not counted as an output)."""
    count = 0
    # Slots in preference order: saved visual, other visual, text file, raw text.
    slots: list = [None, None, None, None]
    for node_id, media_type, items in _media_lists(outputs):
        for raw in items:
            item = _as_file(raw)
            if item is None:
                # Stock previews even a None text item, as the string "None".
                if media_type == "text" and slots[3] is None:
                    slots[3] = _text_preview(raw, node_id)
                continue
            count += 1
            if slots[0] is not None or not _previewable(media_type, item):
                continue
            enriched = {**item, "nodeId": node_id}
            enriched.setdefault("mediaType", media_type)
            if media_type == "text" or _filename(item).endswith(TEXT_SUFFIXES):
                slot = 2
            else:
                slot = 0 if item.get("type") == "output" else 1
            if slots[slot] is None:
                slots[slot] = enriched
    return count, next((s for s in slots if s is not None), None)


def previewable_count(outputs: dict) -> int:
    """Output items the UI can show (jobs.py count_previewable_outputs)."""
    return sum(1 for _, media_type, items in _media_lists(outputs) for raw in items
               if (item := _as_file(raw)) is not None and _previewable(media_type, item))


def normalized_outputs(outputs: dict) -> dict:
    """A job's outputs as GET /api/jobs/{id} shows them: None items dropped, 3D file names as file items."""
    normalized: Dict[str, Any] = {}
    for node_id, node_outputs in outputs.items():
        if not isinstance(node_outputs, dict):
            normalized[node_id] = node_outputs
            continue
        normalized[node_id] = {
            media_type: items if media_type == "animated" or not isinstance(items, list)
            else [(_as_file(i) if isinstance(i, str) else None) or i for i in items if i is not None]
            for media_type, items in node_outputs.items()}
    return normalized
