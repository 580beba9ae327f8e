"""Process mode's launch plan: the pod's arguments split between the front and the workers, each
worker's port, temp folder, database and device; flags that cannot work per worker are refused."""
import pytest

from multigpu.launch_settings import LaunchError, parse_launch_settings
from multigpu.process_plan import front_url_for_workers, plan_process_mode, prompt_id_rule_for

GIB = 2**30
# manifests/base/comfyui-deployment.yaml's arguments, as the image's CMD and the manifest pass them.
POD_ARGS = ["--listen=0.0.0.0", "--port=8188", "--output-directory=/data/output",
            "--input-directory=/data/input", "--temp-directory=/scratch", "--user-directory=/data/user",
            "--database-url=sqlite:////data/user/comfyui.db"]


def settings(env=None, visible=2):
    base = {"COMFY_MULTI_GPU_SCHED": "1", "COMFY_MULTI_GPU_EXECUTOR": "process"}
    return parse_launch_settings(dict(base, **(env or {})), [], visible_gpus=lambda: visible,
                                 total_ram_bytes=10 * GIB)


def plan(args=POD_ARGS, env=None, process_env=None, **kwargs):
    return plan_process_mode(settings(env), list(args), process_env or {}, **kwargs)


def flag_value(args, flag):
    return args[args.index(flag) + 1]


def test_the_front_takes_listen_and_port_and_each_worker_gets_a_loopback_port_from_18188():
    result = plan()
    assert (result.front_hosts, result.front_port) == (("0.0.0.0",), 8188)
    assert [w.url for w in result.workers] == ["http://127.0.0.1:18188", "http://127.0.0.1:18189"]
    for worker in result.workers:
        assert "--listen=0.0.0.0" not in worker.args and "--port=8188" not in worker.args
        assert (flag_value(worker.args, "--listen"), flag_value(worker.args, "--port")) == (
            "127.0.0.1", str(worker.port))


def test_shared_folders_pass_to_every_worker_and_temp_and_database_are_per_worker():
    result = plan()
    for gpu, worker in enumerate(result.workers):
        for shared in POD_ARGS[2:4] + POD_ARGS[5:6]:
            assert shared in worker.args
        assert worker.temp_dir == f"/scratch/gpu{gpu}"
        assert flag_value(worker.args, "--temp-directory") == f"/scratch/gpu{gpu}"
        assert flag_value(worker.args, "--database-url") == f"sqlite:////scratch/gpu{gpu}/comfyui.db"
        assert not any(a.startswith("--temp-directory=") or a.startswith("--database-url=") for a in worker.args)


def test_without_a_temp_directory_the_workers_folders_sit_in_the_base_directorys_temp():
    result = plan(["--base-directory", "/base"], env={"COMFYUI_DIR": "/opt/comfyui"})
    assert [w.temp_dir for w in result.workers] == ["/base/temp/gpu0", "/base/temp/gpu1"]
    assert plan([]).workers[0].temp_dir == "/opt/comfyui/temp/gpu0"


def test_each_worker_sees_its_entry_of_cuda_visible_devices_or_its_index_when_unset():
    assert [w.env_overrides["CUDA_VISIBLE_DEVICES"]
            for w in plan(process_env={"CUDA_VISIBLE_DEVICES": "3,5"}).workers] == ["3", "5"]
    assert [w.env_overrides["CUDA_VISIBLE_DEVICES"] for w in plan().workers] == ["0", "1"]
    with pytest.raises(LaunchError, match="CUDA_VISIBLE_DEVICES lists 1 devices, fewer than COMFY_NUM_GPUS=2"):
        plan(process_env={"CUDA_VISIBLE_DEVICES": "3"})


def test_the_cpu_rehearsal_gives_each_worker_cpu_and_no_visible_device():
    result = plan(POD_ARGS + ["--cpu"], env={"COMFY_MULTI_GPU_DEVICE": "cpu", "COMFY_NUM_GPUS": "3"})
    assert len(result.workers) == 3
    for worker in result.workers:
        assert worker.args.count("--cpu") == 1
        assert worker.env_overrides["CUDA_VISIBLE_DEVICES"] == ""


def test_workers_map_torch_files_log_to_stdout_and_do_not_open_a_browser_by_default():
    args = plan().workers[0].args
    assert {"--mmap-torch-files", "--log-stdout", "--disable-auto-launch"} <= set(args)
    assert "--mmap-torch-files" not in plan(env={"COMFY_WORKER_MMAP_TORCH_FILES": "0"}).workers[0].args
    assert plan(POD_ARGS + ["--disable-auto-launch"]).workers[0].args.count("--disable-auto-launch") == 1


def test_other_arguments_pass_through_in_order_and_the_node_pack_config_is_added():
    extra = ["--preview-method", "auto", "--multi-user", "--cache-lru", "10", "--highvram"]
    args = plan(POD_ARGS + extra, extra_paths_config="/tmp/extra.yaml").workers[1].args
    start = args.index("--preview-method")
    assert list(args[start:start + len(extra)]) == extra
    assert flag_value(args, "--extra-model-paths-config") == "/tmp/extra.yaml"


def test_listen_and_port_accept_both_spellings_and_a_bare_listen_means_every_interface():
    result = plan(["--listen", "--port", "9000"])
    assert (result.front_hosts, result.front_port) == (("0.0.0.0", "::"), 9000)
    assert plan(["--listen", "10.0.0.1"]).front_hosts == ("10.0.0.1",)
    assert plan([]).front_hosts == ("127.0.0.1",) and plan([]).front_port == 8188


def test_a_base_port_moves_every_worker_and_a_front_port_among_them_is_refused():
    assert [w.port for w in plan(env={"COMFY_WORKER_BASE_PORT": "20000"}).workers] == [20000, 20001]
    with pytest.raises(LaunchError, match="--port 18189 is one of the workers' ports 18188..18189; move "
                                          "COMFY_WORKER_BASE_PORT"):
        plan(["--port", "18189"])


@pytest.mark.parametrize("args, message", [
    (["--enable-assets"], "--enable-assets cannot be used with COMFY_MULTI_GPU_EXECUTOR=process: it needs one "
                          "database"),
    (["--tls-keyfile", "k.pem", "--tls-certfile", "c.pem"], "--tls-keyfile cannot be used with "
                                                            "COMFY_MULTI_GPU_EXECUTOR=process: the front serves plain HTTP"),
    (["--tls-certfile=c.pem"], "--tls-certfile cannot be used with COMFY_MULTI_GPU_EXECUTOR=process"),
    (["--cuda-device", "1"], "--cuda-device pins one device"),
    (["--default-device=1"], "--default-device pins one device"),
    (["--port", "http"], "--port must be a whole number, got 'http'"),
    (["--port"], "--port needs a value"),
])
def test_arguments_that_cannot_work_per_worker_are_refused_by_name(args, message):
    with pytest.raises(LaunchError, match=message):
        plan(args)


@pytest.mark.parametrize("env, message", [
    ({"COMFY_WORKER_BASE_PORT": "80"}, "COMFY_WORKER_BASE_PORT must be 1024..65534 .*, got 80"),
    ({"COMFY_WORKER_BASE_PORT": "x"}, "COMFY_WORKER_BASE_PORT must be a whole number"),
    ({"COMFY_WORKER_MMAP_TORCH_FILES": "yes"}, "COMFY_WORKER_MMAP_TORCH_FILES must be 1 .* or 0, got 'yes'"),
    ({"COMFY_WORKER_SAVE_LOCK": "off"}, "COMFY_WORKER_SAVE_LOCK must be 1 .* or 0, got 'off'"),
])
def test_process_mode_settings_errors_name_the_variable(env, message):
    with pytest.raises(LaunchError, match=message):
        settings(env)


def test_the_front_checks_prompt_ids_as_the_workers_release_does():
    assert prompt_id_rule_for("0.8.0") == "any"
    assert prompt_id_rule_for("v0.33.0") == "uuid"
    assert prompt_id_rule_for("1.2.0") == "uuid"
    assert prompt_id_rule_for("unknown") == "uuid"


def test_each_worker_is_told_its_gpu_and_the_fronts_loopback_url_for_the_save_lock():
    workers = plan().workers
    assert [(w.env_overrides["COMFY_WORKER_GPU"], w.env_overrides["COMFY_FRONT_URL"]) for w in workers] == [
        ("0", "http://127.0.0.1:8188"), ("1", "http://127.0.0.1:8188")]
    assert plan(["--listen", "--port", "9000"]).workers[0].env_overrides["COMFY_FRONT_URL"] == "http://127.0.0.1:9000"
    assert plan([]).workers[0].env_overrides["COMFY_FRONT_URL"] == "http://127.0.0.1:8188"


def test_a_front_listening_only_elsewhere_is_reached_where_it_listens():
    assert front_url_for_workers(("::",), 8188) == "http://[::1]:8188"
    assert front_url_for_workers(("10.0.0.5",), 8188) == "http://10.0.0.5:8188"
    assert front_url_for_workers(("fd00::5",), 8188) == "http://[fd00::5]:8188"
