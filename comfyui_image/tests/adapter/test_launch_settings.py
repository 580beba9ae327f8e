"""The launcher's environment parsing: defaults, and errors that name the variable."""
import logging

import pytest

from multigpu.launch_settings import LaunchError, comfyui_args, custom_nodes_dir, parse_launch_settings

GIB = 2**30


@pytest.fixture(autouse=True)
def restore_multigpu_logger():
    """launch.main() gives the "multigpu" logger a handler on this test's captured stdout; later
    tests' worker threads would log into that closed stream."""
    logger = logging.getLogger("multigpu")
    handlers, propagate, level = list(logger.handlers), logger.propagate, logger.level
    yield
    logger.handlers[:] = handlers
    logger.propagate, logger.level = propagate, level


def parse(env, args=(), visible=4):
    def visible_gpus():
        return visible

    return parse_launch_settings(env, list(args), visible_gpus=visible_gpus, total_ram_bytes=100 * GIB)


def test_without_the_switch_comfyui_runs_stock_and_no_gpu_is_counted():
    def fail():
        raise AssertionError("GPUs must not be counted in stock mode")

    settings = parse_launch_settings({}, ["--cuda-device", "1"], visible_gpus=fail, total_ram_bytes=GIB)
    assert settings.multi_gpu is False and settings.comfyui_dir == "/opt/comfyui"


def test_multi_gpu_defaults_to_every_visible_gpu_and_40_percent_of_ram_for_weights():
    settings = parse({"COMFY_MULTI_GPU_SCHED": "1"})
    assert (settings.num_gpus, settings.weights_cache_bytes, settings.warmup_timeout_s) == (4, 40 * GIB, 600.0)


def test_explicit_values_are_used():
    settings = parse({"COMFY_MULTI_GPU_SCHED": "1", "COMFY_NUM_GPUS": "2", "COMFY_WEIGHTS_CACHE_GIB": "0",
                      "COMFY_WARMUP_TIMEOUT_S": "30", "COMFYUI_DIR": "/srv/comfy"})
    assert (settings.num_gpus, settings.weights_cache_bytes, settings.warmup_timeout_s,
            settings.comfyui_dir) == (2, 0, 30.0, "/srv/comfy")


def test_scheduler_settings_come_from_the_environment_with_defaults():
    assert parse({"COMFY_MULTI_GPU_SCHED": "1"}).pool.max_queue_depth == 0
    pool = parse({"COMFY_MULTI_GPU_SCHED": "1", "COMFY_MAX_QUEUE_DEPTH": "12",
                  "COMFY_AFFINITY_SLACK": "2.5"}).pool
    assert (pool.max_queue_depth, pool.affinity_slack) == (12, 2.5)
    assert (pool.breaker_threshold, pool.breaker_probe_seconds) == (3, 30.0)
    pool = parse({"COMFY_MULTI_GPU_SCHED": "1", "COMFY_GPU_BREAKER_FAULTS": "5",
                  "COMFY_GPU_BREAKER_PROBE_S": "10"}).pool
    assert (pool.breaker_threshold, pool.breaker_probe_seconds) == (5, 10.0)
    assert parse({"COMFY_MULTI_GPU_SCHED": "1"}).pool.session_activity_seconds == 300.0
    assert parse({"COMFY_MULTI_GPU_SCHED": "1", "COMFY_SESSION_ACTIVITY_S": "420"}).pool.session_activity_seconds == 420.0


@pytest.mark.parametrize("env, message", [
    ({"COMFY_MULTI_GPU_SCHED": "yes"}, "COMFY_MULTI_GPU_SCHED must be 1"),
    ({"COMFY_MULTI_GPU_SCHED": "1", "COMFY_NUM_GPUS": "two"}, "COMFY_NUM_GPUS must be a whole number, got 'two'"),
    ({"COMFY_MULTI_GPU_SCHED": "1", "COMFY_NUM_GPUS": "5"}, "COMFY_NUM_GPUS must be 1..4"),
    ({"COMFY_MULTI_GPU_SCHED": "1", "COMFY_NUM_GPUS": "0"}, "COMFY_NUM_GPUS must be 1..4"),
    ({"COMFY_MULTI_GPU_SCHED": "1", "COMFY_WEIGHTS_CACHE_GIB": "-1"}, "COMFY_WEIGHTS_CACHE_GIB must be >= 0"),
    ({"COMFY_MULTI_GPU_SCHED": "1", "COMFY_WARMUP_TIMEOUT_S": "0"}, "COMFY_WARMUP_TIMEOUT_S must be > 0"),
    ({"COMFY_MULTI_GPU_SCHED": "1", "COMFY_MAX_QUEUE_DEPTH": "-1"}, "COMFY_MAX_QUEUE_DEPTH must be >= 0"),
    ({"COMFY_MULTI_GPU_SCHED": "1", "COMFY_MAX_QUEUE_DEPTH": "many"},
     "COMFY_MAX_QUEUE_DEPTH must be a whole number, got 'many'"),
    ({"COMFY_MULTI_GPU_SCHED": "1", "COMFY_AFFINITY_SLACK": "-0.5"}, "COMFY_AFFINITY_SLACK must be >= 0"),
    ({"COMFY_MULTI_GPU_SCHED": "1", "COMFY_GPU_BREAKER_FAULTS": "-1"}, "COMFY_GPU_BREAKER_FAULTS must be >= 0"),
    ({"COMFY_MULTI_GPU_SCHED": "1", "COMFY_GPU_BREAKER_PROBE_S": "0"}, "COMFY_GPU_BREAKER_PROBE_S must be > 0"),
    ({"COMFY_MULTI_GPU_SCHED": "1", "COMFY_SESSION_ACTIVITY_S": "0"}, "COMFY_SESSION_ACTIVITY_S must be > 0"),
])
def test_invalid_values_name_the_variable(env, message):
    with pytest.raises(LaunchError, match=message):
        parse(env)


def test_no_visible_gpu_is_an_error_that_says_where_to_look():
    with pytest.raises(LaunchError, match="no GPU is visible"):
        parse({"COMFY_MULTI_GPU_SCHED": "1"}, visible=0)


def test_single_device_arguments_are_refused_in_multi_gpu_mode():
    with pytest.raises(LaunchError, match="--cuda-device pins one device"):
        parse({"COMFY_MULTI_GPU_SCHED": "1"}, args=["--listen", "--cuda-device=1"])


def test_the_cpu_rehearsal_counts_no_gpu_and_adds_the_cpu_flag_once():
    def fail():
        raise AssertionError("the CPU rehearsal must not probe CUDA")

    env = {"COMFY_MULTI_GPU_SCHED": "1", "COMFY_MULTI_GPU_DEVICE": "cpu"}
    settings = parse_launch_settings(env, ["--port=8188"], visible_gpus=fail, total_ram_bytes=GIB)
    assert (settings.device_type, settings.num_gpus) == ("cpu", 2)
    assert comfyui_args(settings, ["--port=8188"]) == ["--port=8188", "--cpu"]
    assert comfyui_args(settings, ["--cpu"]) == ["--cpu"]
    assert comfyui_args(parse({"COMFY_MULTI_GPU_SCHED": "1"}), ["--port=8188"]) == ["--port=8188"]


@pytest.mark.parametrize("env, message", [
    ({"COMFY_MULTI_GPU_DEVICE": "rocm"}, "COMFY_MULTI_GPU_DEVICE must be cuda .* or cpu"),
    ({"COMFY_MULTI_GPU_DEVICE": "cpu", "COMFY_NUM_GPUS": "17"}, "COMFY_NUM_GPUS must be 1..16 workers on the CPU"),
    ({"COMFY_WORKER_STALL_S": "-1"}, "COMFY_WORKER_STALL_S must be >= 0 seconds"),
    ({"COMFY_MULTI_GPU_EXECUTOR": "processes"},
     "COMFY_MULTI_GPU_EXECUTOR must be thread .* or process .*, got 'processes'"),
])
def test_invalid_device_settings_name_the_variable(env, message):
    with pytest.raises(LaunchError, match=message):
        parse({"COMFY_MULTI_GPU_SCHED": "1", **env})


def test_the_executor_defaults_to_thread_and_is_read_only_with_the_scheduler_on():
    assert parse({"COMFY_MULTI_GPU_SCHED": "1"}).executor == "thread"
    assert parse({"COMFY_MULTI_GPU_SCHED": "1", "COMFY_MULTI_GPU_EXECUTOR": "process"}).executor == "process"
    assert parse({"COMFY_MULTI_GPU_EXECUTOR": "bogus"}).multi_gpu is False
    assert parse({"COMFY_MULTI_GPU_SCHED": "1"}).worker_stall_s == 1800.0
    assert parse({"COMFY_MULTI_GPU_SCHED": "1", "COMFY_WORKER_STALL_S": "0"}).worker_stall_s == 0.0


def test_an_image_built_for_one_executor_defaults_to_it_and_refuses_the_other_by_name_with_the_fix():
    process_image = {"COMFY_MULTI_GPU_SCHED": "1", "COMFY_IMAGE_EXECUTOR": "process"}
    assert parse(process_image).executor == "process"
    assert parse({**process_image, "COMFY_MULTI_GPU_EXECUTOR": "process"}).executor == "process"
    # Thread mode would patch a ComfyUI release the adapter was never verified against.
    with pytest.raises(LaunchError) as refused:
        parse({**process_image, "COMFY_MULTI_GPU_EXECUTOR": "thread"})
    assert str(refused.value).startswith("COMFY_MULTI_GPU_EXECUTOR=thread does not match this image, built for "
                                         "process mode")
    assert "set COMFY_MULTI_GPU_EXECUTOR=process, or run the image built with --build-arg COMFYUI_EXECUTOR=thread" \
        in str(refused.value)
    with pytest.raises(LaunchError, match="COMFY_MULTI_GPU_EXECUTOR=process does not match this image, built for "
                                          "thread mode"):
        parse({"COMFY_MULTI_GPU_SCHED": "1", "COMFY_IMAGE_EXECUTOR": "thread", "COMFY_MULTI_GPU_EXECUTOR": "process"})
    with pytest.raises(LaunchError, match="COMFY_IMAGE_EXECUTOR .* must be thread or process, got 'proc'"):
        parse({"COMFY_MULTI_GPU_SCHED": "1", "COMFY_IMAGE_EXECUTOR": "proc"})
    # Stock ComfyUI (no scheduler) runs on either image.
    assert parse({"COMFY_IMAGE_EXECUTOR": "process", "COMFY_MULTI_GPU_EXECUTOR": "thread"}).multi_gpu is False


def test_the_launcher_starts_process_mode_and_refuses_its_bad_arguments_by_name(monkeypatch, capsys):
    from multigpu import launch

    monkeypatch.setenv("COMFY_MULTI_GPU_SCHED", "1")
    monkeypatch.setenv("COMFY_MULTI_GPU_DEVICE", "cpu")
    monkeypatch.setenv("COMFY_MULTI_GPU_EXECUTOR", "process")
    started = []
    monkeypatch.setattr(launch, "run_multi_gpu", lambda *a: started.append("thread"))
    assert launch.main(["--enable-assets"]) == 2
    assert "--enable-assets cannot be used with COMFY_MULTI_GPU_EXECUTOR=process" in capsys.readouterr().out
    monkeypatch.setattr(launch, "run_process_mode", lambda settings, args: started.append(args) or 0)
    assert launch.main(["--", "--port", "9000"]) == 0
    assert started == [["--port", "9000"]]


def test_the_worker_pack_config_adds_its_own_folder_to_custom_nodes():
    import os

    from multigpu.launch import WORKER_PACK_CONFIG

    # ComfyUI reads it with yaml.safe_load (utils/extra_config.py); this venv has no yaml.
    lines = [line for line in open(WORKER_PACK_CONFIG).read().splitlines() if line and not line.startswith("#")]
    assert lines == ["multigpu_worker_pack:", "  custom_nodes: ."]
    assert os.path.isfile(os.path.join(os.path.dirname(WORKER_PACK_CONFIG), "multigpu_worker", "__init__.py"))


def test_the_cpu_flag_is_still_refused_on_gpus():
    with pytest.raises(LaunchError, match="--cpu pins one device"):
        parse({"COMFY_MULTI_GPU_SCHED": "1"}, args=["--cpu"])


def test_launcher_execs_stock_main_py_with_the_arguments_after_the_separator(monkeypatch):
    from multigpu import launch

    calls = []
    monkeypatch.delenv("COMFY_MULTI_GPU_SCHED", raising=False)
    monkeypatch.setenv("COMFYUI_DIR", "/srv/comfy")
    monkeypatch.setattr(launch.os, "execv", lambda path, argv: calls.append((path, argv)))
    launch.main(["--", "--listen=0.0.0.0", "--port=8188"])
    assert calls == [(launch.sys.executable,
                      [launch.sys.executable, "/srv/comfy/main.py", "--listen=0.0.0.0", "--port=8188"])]


def test_launcher_exits_2_and_logs_the_variable_when_the_environment_is_invalid(monkeypatch, capsys):
    from multigpu import launch

    monkeypatch.setenv("COMFY_MULTI_GPU_SCHED", "true")
    assert launch.main([]) == 2
    assert "COMFY_MULTI_GPU_SCHED must be 1" in capsys.readouterr().out


def test_the_custom_node_scan_reads_the_folder_main_py_loads():
    """--base-directory moves custom_nodes too (the CPU rehearsal passes one; the pod does not)."""
    assert custom_nodes_dir("/opt/comfyui", ["--listen=0.0.0.0"]) == "/opt/comfyui/custom_nodes"
    assert custom_nodes_dir("/opt/comfyui", ["--base-directory=/data"]) == "/data/custom_nodes"
    last_wins = ["--base-directory", "/a", "--base-directory", "/b"]
    assert custom_nodes_dir("/opt/comfyui", last_wins) == "/b/custom_nodes"
