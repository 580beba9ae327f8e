"""comfyui_probe.py: probes and the preStop drain against a fake ComfyUI on loopback."""
from __future__ import annotations

import threading

from conftest import FakeHttp, load

probe = load("comfyui_probe")


def comfyui(queue_answers: list):
    """A fake ComfyUI whose GET /queue walks through `queue_answers` (the last one repeats)."""
    def handle(method, path, body, headers):
        if path == "/system_stats":
            return 200, {"system": {"comfyui_version": "test"}}
        if path == "/queue":
            answer = queue_answers[0] if len(queue_answers) == 1 else queue_answers.pop(0)
            return 200, answer
        return 404, {}
    return FakeHttp(handle)


BUSY = {"queue_running": [[0, "p1", {}, {}, []]], "queue_pending": [[1, "p2", {}, {}, []]]}
IDLE = {"queue_running": [], "queue_pending": []}


def test_ready_fails_until_the_models_marker_exists(tmp_path):
    server = comfyui([IDLE])
    marker = tmp_path / "ready"
    args = ["ready", "--url", server.url, "--ready-marker", str(marker)]
    assert probe.main(args) == 1
    marker.write_text("x")
    assert probe.main(args) == 0
    server.close()


def test_startup_and_alive_fail_when_comfyui_does_not_answer():
    server = comfyui([IDLE])
    url = server.url
    server.close()
    assert probe.main(["alive", "--url", url, "--timeout", "1"]) == 1
    assert probe.main(["startup", "--url", url, "--timeout", "1"]) == 1


def test_ready_without_a_marker_setting_is_a_usage_error(monkeypatch):
    monkeypatch.delenv("MODELS_READY_MARKER", raising=False)
    assert probe.main(["ready"]) == 2


def test_drain_waits_for_running_and_pending_prompts_to_finish():
    server = comfyui([BUSY, BUSY, {"queue_running": [[0, "p2", {}, {}, []]], "queue_pending": []}, IDLE])
    ok, message = probe.drain(server.url, timeout=30, poll=0.01)
    assert ok and message == "queue empty"
    assert [c[1] for c in server.calls].count("/queue") == 4
    server.close()


def test_drain_gives_up_at_its_deadline():
    server = comfyui([BUSY])
    now = [0.0]
    ok, message = probe.drain(server.url, timeout=60, poll=1, clock=lambda: now[0],
                              sleep=lambda s: now.__setitem__(0, now[0] + 25))
    assert not ok and "2 prompt(s) still queued after 60 s" in message
    server.close()


def test_drain_keeps_waiting_through_a_500_and_a_slow_answer():
    answers = [(500, {"error": "busy"}), "slow", (200, BUSY), (200, IDLE)]

    def handle(method, path, body, headers):
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if answer == "slow":
            threading.Event().wait(2.0)  # longer than the drain's per-call limit below
            return 200, BUSY
        return answer

    server = FakeHttp(handle)
    ok, message = probe.drain(server.url, timeout=600, poll=0.01, call_seconds=0.2)
    assert ok and message == "queue empty"
    assert [c[1] for c in server.calls].count("/queue") == 4
    server.close()


def test_drain_gives_up_at_its_deadline_when_the_queue_stays_unreadable():
    server = FakeHttp(lambda method, path, body, headers: (500, {}))
    now = [0.0]
    ok, message = probe.drain(server.url, timeout=60, poll=1, clock=lambda: now[0],
                              sleep=lambda s: now.__setitem__(0, now[0] + 25))
    assert not ok and message == "queue unreadable after 60 s; stopping anyway"
    assert len(server.calls) == 4
    server.close()


def test_drain_ends_at_once_when_comfyui_has_exited():
    server = comfyui([BUSY])
    url = server.url
    server.close()
    ok, message = probe.drain(url, timeout=600, poll=0.01)
    assert ok and "connection refused" in message


def multi_gpu_comfyui(verdict_path: str, verdict: dict, bad_reason: str):
    """A fake multi-GPU ComfyUI that answers /system_stats, and `verdict_path` (/healthz or /readyz) with
    verdict["status"]: 200, or that status with `bad_reason`."""
    def handle(method, path, body, headers):
        if path == "/system_stats":
            return 200, {"system": {}}
        if path == verdict_path:
            ok = verdict["status"] == 200
            return verdict["status"], {"ok": ok, "reason": "fine" if ok else bad_reason}
        return 404, {}
    return FakeHttp(handle)


def test_alive_fails_when_the_multi_gpu_healthz_says_every_gpu_is_out_of_service():
    verdict = {"status": 200}
    server = multi_gpu_comfyui("/healthz", verdict, "every GPU is out of service: GPU 0: ...")
    args = ["alive", "--url", server.url, "--timeout", "2"]
    assert probe.main(args) == 0
    verdict["status"] = 503
    assert probe.main(args) == 1
    assert probe.main(["startup", "--url", server.url, "--timeout", "2"]) == 0  # startup only asks for an answer
    server.close()


def test_alive_on_stock_comfyui_without_healthz_only_needs_an_answer():
    server = comfyui([IDLE])  # answers 404 for /healthz
    assert probe.main(["alive", "--url", server.url, "--timeout", "2"]) == 0
    server.close()


def test_ready_follows_the_multi_gpu_readyz_and_stock_comfyui_needs_only_the_marker(tmp_path):
    marker = tmp_path / "ready"
    marker.write_text("x")
    verdict = {"status": 503}
    server = multi_gpu_comfyui("/readyz", verdict, "custom node pack X replaced get_torch_device")
    args = ["ready", "--url", server.url, "--ready-marker", str(marker), "--timeout", "2"]
    assert probe.main(args) == 1
    verdict["status"] = 200
    assert probe.main(args) == 0
    server.close()
    stock = comfyui([IDLE])  # answers 404 for /readyz
    assert probe.main(["ready", "--url", stock.url, "--ready-marker", str(marker), "--timeout", "2"]) == 0
    stock.close()
