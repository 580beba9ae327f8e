"""The runner's own port: GET /healthz for the Deployment's liveness probe (200 while the loop turns, 503 when it
is stuck) and GET /scaling, the demand KEDA's metrics-api trigger reads (scaling.py; 503 when its numbers are
stale, which KEDA counts as a trigger error)."""
from __future__ import annotations

import time

from aiohttp import web


def stuck_after_seconds(receive_wait_seconds: float) -> float:
    # One turn is a pod look plus one long poll; AWS retries can stretch it. Far beyond both is stuck.
    return max(60.0, 6 * receive_wait_seconds)


def health_app(runner) -> web.Application:
    limit = stuck_after_seconds(runner.ctx.settings.receive_wait_seconds)

    async def healthz(request: web.Request) -> web.Response:
        age = time.monotonic() - runner.last_loop
        ok = age < limit
        return web.json_response({"ok": ok, "loops": runner.loops, "loop_age_seconds": round(age, 3),
                                  "jobs": len(runner.ctx.leases), "pods": sorted(runner.ctx.pods)},
                                 status=200 if ok else 503)

    async def scaling(request: web.Request) -> web.Response:
        status, body = runner.scaling.answer()
        return web.json_response(body, status=status, headers={"Cache-Control": "no-store"})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/scaling", scaling)
    return app
