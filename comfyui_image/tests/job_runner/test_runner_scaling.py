"""GET /scaling of a runner process against the simulator and moto: the pods' prompts (interactive and jobs), the
jobs queue's visible backlog and the pods' recent browser sessions, as KEDA's metrics-api trigger reads them; and
an error status once the runner can no longer see a pod."""
import base64
import http.client
import os
import signal
import urllib.parse

from multigpu.sim.workflow import sim_workflow
from jobs import in_status
from processes import _children, http_json, runner, simulator, wait_for

FOREVER_MS = 600_000
SCALING = {"SCALING_REFRESH_SECONDS": "1", "SCALING_STALE_SECONDS": "5", "SESSION_ACTIVITY_SECONDS": "300"}


def scaling(proc):
    return http_json("GET", proc.health + "/scaling", timeout=5)


def scaling_is(proc, **expected):
    def check():
        status, body = scaling(proc)
        return body if status == 200 and {k: body.get(k) for k in expected} == expected else None
    return check


def browser_connects(base: str, client_id: str) -> None:
    """A WebSocket handshake as a browser makes it through CloudFront (its Origin; a Host that is the
    viewer's or the ALB's name, never loopback: process mode's front refuses a foreign Origin on a
    loopback Host as stock ComfyUI does), then gone: a connect is activity."""
    url = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    connection.request("GET", f"/ws?clientId={client_id}", headers={
        "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(), "Origin": "https://d111.cloudfront.net",
        "Host": "d111.cloudfront.net"})
    assert connection.getresponse().status == 101
    connection.close()


def test_scaling_reports_prompts_backlog_and_sessions_and_503_once_a_pod_is_unseen(backend, tmp_path):
    with simulator(tmp_path, gpus=2, exec_ms=FOREVER_MS) as (base, sim, _):
        env = {**backend.runner_env(), **SCALING}
        with runner(tmp_path, env, [f"pod-a={base}"]) as proc:
            idle = wait_for(scaling_is(proc, demand=0), "an idle answer", 90)
            assert idle == {"demand": 0, "prompts": 0, "backlog": 0, "recent_sessions": 0, "pods": 1, "busy_gpus": 0}

            browser_connects(base, "tab-a")  # an artist opens the page: one pod's worth of demand
            wait_for(scaling_is(proc, demand=1, recent_sessions=1, prompts=0), "the session counted", 60)

            # The artist's prompt holds GPU 0 (no Origin here: it counts as a prompt, not as a session).
            http_json("POST", base + "/prompt", {"prompt": sim_workflow(seed=9), "client_id": "tab-a"},
                      {"X-TARGET-GPU": "0"})
            wait_for(scaling_is(proc, demand=1, prompts=1, busy_gpus=1, recent_sessions=1), "the prompt counted", 60)

            jobs = [backend.put_job(sim_workflow(seed=i)) for i in range(3)]
            wait_for(lambda: len(in_status(backend, jobs, "in_progress")) == 1, "one job on the idle GPU", 90)
            body = wait_for(scaling_is(proc, prompts=2, backlog=2), "the job and the backlog counted", 60)
            assert body == {"demand": 4, "prompts": 2, "backlog": 2, "recent_sessions": 1, "pods": 1, "busy_gpus": 2}

            for child in _children(sim.pid) or [sim.pid]:
                os.kill(child, signal.SIGKILL)
            status, body = wait_for(lambda: (lambda a: a if a[0] == 503 else None)(scaling(proc)),
                                    "an error once the pod is unseen", 60)
            assert "pod pod-a has not answered" in body["error"]
