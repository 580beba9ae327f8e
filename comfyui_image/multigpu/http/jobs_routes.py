"""ComfyUI v0.33's /api/jobs routes answered from the front's pool (docs/process-mode-design.md 3.2):
the workers' histories are harvested into the front and their queues hold one prompt at most, so
a worker's own /api/jobs would be wrong. Views in core/jobs_view.py; paths, bodies and status codes
as v0.33's server.py (registered there under /api only, so here too).

Cancel is stock's rule over our mechanics: a running prompt gets the scoped interrupt (by prompt
id, under the queue lock, so a late cancel cannot stop the GPU's next prompt), a pending one is
deleted from its GPU's queue; a finished or unknown id is a no-op answered {"cancelled": false}.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Optional

from aiohttp import web

from ..core.interrupt_scope import InterruptRequest
from ..core.jobs_view import JobSources, JobsQueryError, find_job, invalid_job_ids, list_jobs, parse_jobs_query
from ..core.pool import GpuPool

log = logging.getLogger("multigpu.jobs")


def job_sources(pool: GpuPool, prompt_id: Optional[str] = None) -> JobSources:
    """Every GPU's running and pending prompts (pending by number, as GET /queue lists them) and the
    history: all of it, or `prompt_id`'s entry only."""
    running, pending, gpu_of = [], [], {}
    for queue in pool.queue_all()["queues"]:
        running += queue["queue_running"]
        pending += queue["queue_pending"]
        gpu_of.update({item[1]: queue["gpu_id"] for item in queue["queue_running"] + queue["queue_pending"]})
    pending.sort(key=lambda item: item[0])
    return JobSources(running, pending, pool.history.get(prompt_id), gpu_of)


def cancel_prompt(pool: GpuPool, prompt_id: str) -> bool:
    """True when a cancel was dispatched: jobs.py cancel_job's order (dequeue a pending prompt; if it
    left the queue meanwhile, interrupt it should it now run)."""
    where = pool.locate(prompt_id)
    if where is None:
        return False
    if where[1] == "pending" and pool.delete_pending([prompt_id]):
        log.info("Cancelling pending prompt %s", prompt_id)
        return True
    if pool.interrupt(InterruptRequest(prompt_id=prompt_id)).prompt_ids:
        log.info("Cancelling running prompt %s", prompt_id)
        return True
    return False


def add_jobs_routes(app: web.Application, pool: GpuPool) -> None:
    routes = web.RouteTableDef()

    @routes.get("/api/jobs")
    async def get_jobs(request: web.Request) -> web.Response:
        try:
            query = parse_jobs_query(request.rel_url.query)
        except JobsQueryError as error:
            return web.json_response(error.body, status=400)
        # Off the event loop: with a full history (10,000 prompts) the copy and the views take
        # seconds of CPU on a busy node, and the loop relays every worker's messages.
        body = await asyncio.get_running_loop().run_in_executor(None, lambda: list_jobs(job_sources(pool), query))
        return web.json_response(body)

    @routes.get("/api/jobs/{job_id}")
    async def get_job(request: web.Request) -> web.Response:
        job_id = request.match_info["job_id"]
        job = find_job(job_id, job_sources(pool, job_id))
        if job is None:
            return web.json_response({"error": "Job not found"}, status=404)
        return web.json_response(job)

    @routes.post("/api/jobs/{job_id}/cancel")
    async def cancel_one(request: web.Request) -> web.Response:
        return web.json_response({"cancelled": cancel_prompt(pool, request.match_info["job_id"])})

    @routes.post("/api/jobs/cancel")
    async def cancel_batch(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:  # json.JSONDecodeError, an empty body included
            return web.json_response({"error": "Request body must be valid JSON"}, status=400)
        job_ids = body.get("job_ids") if isinstance(body, dict) else None
        if not isinstance(job_ids, list):
            return web.json_response({"error": "job_ids must be a list"}, status=400)
        invalid = invalid_job_ids(job_ids)
        if invalid:
            return web.json_response({"error": "job_ids contains invalid id(s)", "invalid_ids": invalid},
                                     status=400)
        # Every id, not only until the first hit: best-effort, as stock.
        outcomes = [cancel_prompt(pool, job_id) for job_id in job_ids]
        return web.json_response({"cancelled": any(outcomes)})

    app.add_routes(routes)
