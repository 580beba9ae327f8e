"""front/worker_validation.py against a real aiohttp server on loopback standing in for a worker:
the worker's verdict on a prompt, and a refusal naming the worker when it cannot give one."""
import asyncio

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from multigpu.front.worker_validation import validate_on_worker

PROMPT = {"prompt": {"9": {"class_type": "SaveImage"}}, "partial_execution_targets": ["9"]}


def validate_against(add_routes):
    """validate_on_worker(PROMPT) against a server with `add_routes(router)`: its answer, or the
    HTTP error it raised as (status, text)."""

    async def main():
        app = web.Application()
        add_routes(app.router)
        async with TestServer(app) as server, aiohttp.ClientSession() as session:
            try:
                return await validate_on_worker(session, str(server.make_url("")).rstrip("/"), 1, PROMPT)
            except web.HTTPException as refused:
                return refused.status, refused.text

    return asyncio.run(main())


def test_the_workers_verdict_and_outputs_come_back_with_the_clients_targets_sent():
    seen = []

    async def validate(request):
        seen.append(await request.json())
        return web.json_response({"outputs_to_execute": ["9"]})

    assert validate_against(lambda router: router.add_post("/multigpu/validate", validate)) == (None, ["9"])
    assert seen == [PROMPT]


def test_a_refused_prompt_is_the_workers_400_body():
    body = {"error": {"type": "prompt_no_outputs", "message": "Prompt has no outputs"}, "node_errors": {}}

    async def validate(request):
        return web.json_response(body, status=400)

    assert validate_against(lambda router: router.add_post("/multigpu/validate", validate)) == (body, [])


def test_a_worker_without_the_node_pack_is_a_502_naming_the_pack_and_where_to_look():
    status, text = validate_against(lambda router: None)
    assert status == 502
    assert text.startswith("ComfyUI for GPU 1 has no POST /multigpu/validate (HTTP 404): "
                           "the multigpu_worker node pack did not load there")
    assert "[gpu 1]" in text


@pytest.mark.parametrize("answer", [web.Response(status=500, text="Traceback: KeyError 'x'"),
                                    web.Response(status=200, text="<html>not json</html>")])
def test_an_answer_that_is_no_verdict_is_a_502_quoting_it(answer):
    async def validate(request):
        return answer

    status, text = validate_against(lambda router: router.add_post("/multigpu/validate", validate))
    assert status == 502 and text.startswith(f"ComfyUI for GPU 1 answered POST /multigpu/validate with "
                                             f"HTTP {answer.status}, not a verdict: ")
    assert answer.text[:20] in text
