"""A GPU whose prompts keep failing with CUDA errors leaves service, over real HTTP (simulator)."""
import pytest

from server_process import http_json, wait_history
from sim_process import EXECUTORS, running_sim, workflow


def fail_on(base, gpu, count):
    for _ in range(count):
        _, body = http_json("POST", base + "/prompt", {"prompt": workflow(gpu_fault=True)},
                            {"X-TARGET-GPU": str(gpu)})
        assert wait_history(base, body["prompt_id"])["status"]["status_str"] == "error"


@pytest.mark.parametrize("mode", EXECUTORS)
def test_three_gpu_faults_take_a_gpu_out_and_two_broken_gpus_make_the_pod_unhealthy(tmp_path, mode):
    # Probes an hour away: nothing brings a GPU back during the test.
    with running_sim(tmp_path / "out", gpus=2, exec_ms=50, executor=mode,
                     extra_args=["--breaker-probe-s", "3600"]) as (base, _):
        fail_on(base, 1, 3)
        queues = http_json("GET", base + "/queue/all")[1]["queues"]
        assert [q["state"] for q in queues] == ["in_service", "broken"]
        assert "illegal memory access" in queues[1]["last_gpu_fault"]
        status, health = http_json("GET", base + "/healthz")
        assert status == 200 and "1 of 2 GPUs in service" in health["reason"]
        metrics = http_json("GET", base + "/metrics")[1].decode()
        assert 'comfyui_gpu_breaker_open{gpu="1"} 1.0' in metrics
        _, body = http_json("POST", base + "/prompt", {"prompt": workflow()})
        assert body["gpu_id"] == 0  # unpinned prompts avoid the broken GPU

        fail_on(base, 0, 3)
        status, health = http_json("GET", base + "/healthz")
        assert status == 503 and "every GPU is out of service" in health["reason"]
        assert http_json("GET", base + "/readyz")[0] == 503
