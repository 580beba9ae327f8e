"""A worker that goes silent while running a prompt and ignores the interrupt is killed by the
front's stall watch; the prompt fails naming the stall, and the worker is restarted."""
import time

from server_process import http_json, wait_history
from sim_process import running_sim, workflow


def test_a_silent_worker_is_interrupted_then_killed_and_its_prompt_fails_naming_the_stall(tmp_path):
    with running_sim(tmp_path / "out", gpus=2, exec_ms=100, executor="process",
                     extra_args=["--worker-stall-s", "1", "--worker-stall-grace-s", "1",
                                 "--breaker-probe-s", "0.5"]) as (base, _):
        _, body = http_json("POST", base + "/prompt", {"prompt": workflow(hang=True)}, {"X-TARGET-GPU": "1"})
        entry = wait_history(base, body["prompt_id"], timeout=60)
        error = [m[1] for m in entry["status"]["messages"] if m[0] == "execution_error"][-1]
        assert "ComfyUI for GPU 1 sent nothing for" in error["exception_message"]
        assert "(COMFY_WORKER_STALL_S=1); killed (exited with signal 9" in error["exception_message"]
        _, other = http_json("POST", base + "/prompt", {"prompt": workflow()}, {"X-TARGET-GPU": "0"})
        assert wait_history(base, other["prompt_id"], timeout=30)["status"]["completed"] is True
        deadline = time.monotonic() + 60
        while http_json("GET", base + "/queue/all")[1]["queues"][1]["state"] != "in_service":
            assert time.monotonic() < deadline, "GPU 1 not back in service within 60 s"
            time.sleep(0.05)


def test_a_worker_whose_server_stops_answering_is_killed_by_the_watchdog_and_its_prompt_fails(tmp_path):
    with running_sim(tmp_path / "out", gpus=2, exec_ms=100, executor="process",
                     extra_args=["--worker-liveness-s", "0.5", "--breaker-probe-s", "0.5"]) as (base, _):
        _, body = http_json("POST", base + "/prompt", {"prompt": workflow(wedge=True)}, {"X-TARGET-GPU": "0"})
        entry = wait_history(base, body["prompt_id"], timeout=60)
        error = [m[1] for m in entry["status"]["messages"] if m[0] == "execution_error"][-1]
        assert error["exception_message"].startswith(
            "ComfyUI for GPU 0 did not answer GET /system_stats 3 times in a row (0.5 s each); killed (exited with signal 9")
        # GPU 1 served meanwhile: an unpinned prompt runs there (GPU 0 is out of service or back).
        _, other = http_json("POST", base + "/prompt", {"prompt": workflow()})
        assert wait_history(base, other["prompt_id"], timeout=30)["status"]["completed"] is True
