"""The front opens a worker's socket only to the process it started on that port
(core/worker_identity.py, http/worker_link.py), checked against a real simulated stock worker."""
import asyncio

import aiohttp

from server_process import free_port, http_json
from sim_process import running_sim


async def link_to(url, command, enough):
    """Run a link to `url` expecting `command` until `enough(link)`; the link afterwards."""
    from multigpu.http.worker_link import HttpWorkerLink
    async with aiohttp.ClientSession() as session:
        link = HttpWorkerLink(0, url, lambda *message: None, expected_command=command)
        await link.start(session)
        try:
            for _ in range(1200):  # 60 s at most: a condition, not a duration, ends the wait
                if enough(link):
                    break
                await asyncio.sleep(0.05)
            return link.up, link.identity_mismatches
        finally:
            await link.stop()


def test_a_server_started_otherwise_on_the_port_gets_no_prompts_and_the_right_one_connects(tmp_path):
    port = free_port()
    with running_sim(tmp_path / "output", gpus=1, exec_ms=10, executor="process",
                     extra_args=["--worker-ports", str(port)]):
        url = f"http://127.0.0.1:{port}"
        argv = http_json("GET", url + "/system_stats")[1]["system"]["argv"]
        # Someone else's worker: same port, another temp folder (two launchers on one loopback).
        wrong = ["python", argv[0], *[a.replace(str(tmp_path), "/tmp/another-launch") for a in argv[1:]]]
        assert wrong[1:] != argv
        up, mismatches = asyncio.run(link_to(url, wrong, lambda link: link.identity_mismatches >= 3 or link.up))
        assert not up and mismatches >= 3
        up, mismatches = asyncio.run(link_to(url, ["python", *argv], lambda link: link.up))
        assert up and mismatches == 0
