"""Our node pack in every process-mode worker (docs/process-mode-design.md 1, "Worker add-on"): loaded by
stock ComfyUI as a custom node through the launcher's --extra-model-paths-config; it adds no nodes.

POST /multigpu/validate {"prompt": {...}}: stock validation (execution.validate_prompt, as stock
POST /prompt runs it) without queueing, so the front answers a client's POST /prompt with the
worker's verdict: 200 {"outputs_to_execute": [...]} or 400 {"error", "node_errors"} as stock.

Output file names (design 3.7): `folder_paths.get_save_image_path` is wrapped, once at import, to
take the front's lock on (output folder, prefix) first (save_lock.py); COMFY_WORKER_SAVE_LOCK=0
leaves it stock. What the pack relies on is checked at image build by multigpu/worker_pack/selfcheck.py.
"""
import os
import uuid

from aiohttp import web

import execution
import folder_paths
import server

from . import save_lock

try:  # v0.8.0 and v0.33.0: comfy_execution/utils.py, set while a node's function runs
    from comfy_execution.utils import get_executing_context
except ImportError:  # an older release: the front then releases by arrival order alone
    get_executing_context = None

NODE_CLASS_MAPPINGS = {}


def executing_node():
    """(prompt id, node id) of the node whose function runs on this thread, as its `executing`
    message names it; (None, None) off a node (a helper thread) or without the context."""
    context = get_executing_context() if get_executing_context else None
    return (context.prompt_id, context.node_id) if context else (None, None)


_client = save_lock.client_from_env(os.environ)
if _client is not None:
    save_lock.wrap_save_image_path(folder_paths, _client, executing_node)


@server.PromptServer.instance.routes.post("/multigpu/validate")
async def validate(request: web.Request) -> web.Response:
    body = await request.json()
    prompt = body.get("prompt")
    if not isinstance(prompt, dict):
        error = {"type": "no_prompt", "message": "No prompt provided", "details": "No prompt provided",
                 "extra_info": {}}
        return web.json_response({"error": error, "node_errors": {}}, status=400)
    valid = await execution.validate_prompt(str(uuid.uuid4()), prompt, body.get("partial_execution_targets"))
    if valid[0]:
        return web.json_response({"outputs_to_execute": list(valid[2])})
    return web.json_response({"error": valid[1], "node_errors": valid[3]}, status=400)
