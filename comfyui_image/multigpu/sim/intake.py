"""The simulator's stand-ins for the ComfyUI routes the multi-GPU layer does not replace: the
prompt intake (http/intake_routes.py, validated by the simulated node catalog), /view and
/system_stats. Shapes follow ComfyUI's server.py."""
from __future__ import annotations

import os

from aiohttp import web

from ..core.pool import GpuPool
from ..http.intake_routes import add_intake_routes, with_api_aliases
from ..http.ws_hub import WebSocketHub
from .catalog import output_nodes, validate_prompt


async def validate_locally(body: dict):
    """The simulated catalog's verdict on a POST /prompt body, as http/intake_routes.Validate."""
    prompt = body.get("prompt")
    problem = validate_prompt(prompt)
    if problem is not None:
        return problem, []
    # As stock validate_prompt: a client may name the output nodes to run (partial_execution_targets).
    targets = body.get("partial_execution_targets")
    return None, [node for node in output_nodes(prompt) if targets is None or node in targets]


def view_file(request: web.Request, folders: dict) -> web.StreamResponse:
    """As ComfyUI's server.py view_image: filename within subfolder within the folder of `type`."""
    name = request.query.get("filename", "")
    folder_of_type = folders.get(request.query.get("type", "output"))
    if folder_of_type is None or not name or "/" in name:
        raise web.HTTPNotFound()
    root = os.path.realpath(folder_of_type)
    folder = os.path.realpath(os.path.join(root, request.query.get("subfolder", "")))
    if os.path.commonpath((root, folder)) != root:
        raise web.HTTPForbidden()
    path = os.path.join(folder, name)
    if not os.path.isfile(path):
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={"Content-Type": "image/png"})


def simulated_devices(count: int) -> list:
    return [{"name": f"cuda:{i} simulated", "type": "cuda", "index": i,
             "vram_total": 24 * 2**30, "vram_free": 24 * 2**30} for i in range(count)]


def add_sim_routes(app: web.Application, pool: GpuPool, hub: WebSocketHub, output_dir: str,
                   num_gpus: int) -> None:
    add_intake_routes(app, pool, hub, validate=validate_locally)
    routes = web.RouteTableDef()

    @routes.get("/view")
    async def view(request: web.Request) -> web.StreamResponse:
        return view_file(request, {"output": output_dir})

    @routes.get("/system_stats")
    async def system_stats(request: web.Request) -> web.Response:
        return web.json_response({"system": {"comfyui_version": "simulator", "os": os.name},
                                  "devices": simulated_devices(num_gpus)})

    app.add_routes(with_api_aliases(routes))
