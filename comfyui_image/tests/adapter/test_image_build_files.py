"""The image's build files agree with the adapter's pins and the stack's names."""
import os
import re
import subprocess

import pytest

from multigpu.comfy_adapter.pins import COMFYUI_COMMIT, COMFYUI_TAG, PROCESS_COMFYUI_COMMIT, PROCESS_COMFYUI_TAG

IMAGE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REPO_ROOT = os.path.dirname(IMAGE_DIR)
SCRIPT = os.path.join(IMAGE_DIR, "build_and_push.sh")
FIXTURE_OUTPUTS = os.path.join(REPO_ROOT, "test", "fixtures", "cdk-outputs.json")


def read(name):
    with open(os.path.join(IMAGE_DIR, name)) as handle:
        return handle.read()


def dockerfile():
    return read("Dockerfile")


def dockerfile_default(name):
    match = re.search(rf"^ARG {name}=(\S*)$", dockerfile(), re.MULTILINE)
    assert match, f"Dockerfile has no 'ARG {name}=' default"
    return match.group(1)


def ts_constant(path, name):
    with open(os.path.join(REPO_ROOT, path)) as handle:
        return re.search(rf"export const {name} = '?([^';]+)'?;", handle.read()).group(1)


def test_dockerfile_builds_the_comfyui_tag_and_commit_the_adapter_is_pinned_to():
    assert dockerfile_default("COMFYUI_REF") == COMFYUI_TAG
    assert dockerfile_default("COMFYUI_COMMIT") == COMFYUI_COMMIT


def test_dockerfile_builds_the_process_pin_only_when_asked_and_tells_the_launcher_which_it_built():
    assert dockerfile_default("COMFYUI_EXECUTOR") == "thread"
    assert dockerfile_default("PROCESS_COMFYUI_REF") == PROCESS_COMFYUI_TAG
    assert dockerfile_default("PROCESS_COMFYUI_COMMIT") == PROCESS_COMFYUI_COMMIT
    assert re.search(r"^ENV COMFY_IMAGE_EXECUTOR=\$\{COMFYUI_EXECUTOR\}$", dockerfile(), re.MULTILINE)
    with open(os.path.join(IMAGE_DIR, "multigpu", "launch_settings.py")) as handle:
        assert 'env.get("COMFY_IMAGE_EXECUTOR"' in handle.read()


def test_dockerfile_user_and_models_dir_match_the_manifests_names():
    assert dockerfile_default("COMFYUI_UID") == ts_constant("lib/names.ts", "COMFYUI_UID")
    assert ts_constant("lib/names.ts", "COMFYUI_IMAGE_MODELS_DIR") in dockerfile()


def run_instruction(marker, tmp_path, executor, **env):
    """Runs the Dockerfile's RUN instruction that contains `marker` under /bin/sh (as the build does), its
    absolute paths moved under tmp_path and `git`, `pip` and `python3` replaced by stand-ins that log their
    arguments, print env FAKE_HEAD for `rev-parse` and keep a copy of the file given to `-r` as <tool>-r.
    The build args are the Dockerfile's defaults."""
    runs = [line[len("RUN "):] for line in dockerfile().replace("\\\n", "").splitlines() if line.startswith("RUN ")]
    [command] = [run for run in runs if marker in run]
    for path in ("/tmp/pairs", "/tmp/requirements.lock", "/opt/comfyui"):
        command = command.replace(path, f"{tmp_path}{path}")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("git", "pip", "python3"):
        (bin_dir / tool).write_text(f'''#!/bin/sh
echo "{tool} $*" >> "{tmp_path}/log"
case "$*" in *rev-parse*) echo "$FAKE_HEAD" ;; esac
case "$*" in *" -r "*) for arg in "$@"; do last="$arg"; done; cp "$last" "{tmp_path}/{tool}-r" ;; esac
''')
        (bin_dir / tool).chmod(0o755)
    args = {name: dockerfile_default(name) for name in re.findall(r"^ARG (\w+)=", dockerfile(), re.MULTILINE)}
    result = subprocess.run(["/bin/sh", "-c", "set -e; " + command], capture_output=True, text=True,
                            env={**args, "COMFYUI_EXECUTOR": executor, "PATH": f"{bin_dir}:/usr/bin:/bin", **env})
    log = (tmp_path / "log").read_text() if (tmp_path / "log").exists() else ""
    return result, log


@pytest.mark.parametrize("executor, tag, commit", [("thread", COMFYUI_TAG, COMFYUI_COMMIT),
                                                   ("process", PROCESS_COMFYUI_TAG, PROCESS_COMFYUI_COMMIT)])
def test_the_clone_takes_the_executors_tag_and_refuses_another_commit_naming_its_build_args(
        tmp_path, executor, tag, commit):
    result, log = run_instruction("git clone", tmp_path, executor, FAKE_HEAD=commit)
    assert result.returncode == 0, result.stderr
    assert f"git clone --depth 1 --branch {tag} " in log
    result, _ = run_instruction("git clone", tmp_path, executor, FAKE_HEAD="0" * 40)
    prefix = "PROCESS_" if executor == "process" else ""
    assert result.returncode == 1
    assert f"{prefix}COMFYUI_REF={tag} is commit {'0' * 40}, expected {prefix}COMFYUI_COMMIT={commit}" in result.stderr


def test_an_unknown_executor_fails_the_build_by_name(tmp_path):
    result, log = run_instruction("git clone", tmp_path, "processes")
    assert result.returncode == 1 and "COMFYUI_EXECUTOR must be thread or process, got 'processes'" in result.stderr
    assert log == ""


def stage_requirement_pairs(tmp_path, clone_copy):
    """The build's /tmp/pairs (all four files, as COPY puts them) and a clone whose requirements.txt is the
    ComfyUI file `clone_copy` was copied from."""
    pairs = tmp_path / "tmp" / "pairs"
    pairs.mkdir(parents=True)
    for name in ("comfyui-requirements.txt", "comfyui-requirements-process.txt", "requirements.lock",
                 "requirements-process.lock"):
        (pairs / name).write_text(read(name))
    clone = tmp_path / "opt" / "comfyui"
    clone.mkdir(parents=True)
    lines = [line for line in read(clone_copy).splitlines(keepends=True) if not line.startswith("# comfyui-on-eks:")]
    (clone / "requirements.txt").write_text("".join(lines))


# The requirements copy and lock each executor's image installs.
PAIRS = {"thread": ("comfyui-requirements.txt", "requirements.lock"),
         "process": ("comfyui-requirements-process.txt", "requirements-process.lock")}


@pytest.mark.parametrize("executor", PAIRS)
def test_the_executors_requirements_pair_is_checked_against_the_clone_and_its_lock_installed(tmp_path, executor):
    copy, lock = PAIRS[executor]
    stage_requirement_pairs(tmp_path, copy)
    installed = tmp_path / "tmp" / "requirements.lock"
    result, log = run_instruction("cmp -s -", tmp_path, executor)
    assert result.returncode == 0, result.stderr
    assert f"pip install --require-hashes --no-deps --force-reinstall -r {installed}" in log and "pip check" in log
    assert (tmp_path / "pip-r").read_text() == read(lock)
    assert not installed.exists() and not (tmp_path / "tmp" / "pairs").exists()


@pytest.mark.parametrize("executor, other", [("thread", "process"), ("process", "thread")])
def test_a_clone_whose_requirements_differ_from_the_executors_copy_fails_naming_the_copy_and_the_fix(
        tmp_path, executor, other):
    stage_requirement_pairs(tmp_path, PAIRS[other][0])
    result, log = run_instruction("cmp -s -", tmp_path, executor)
    assert result.returncode == 1
    named = PAIRS[executor][0] + ":"
    assert named in result.stderr and f"lock-requirements.sh --executor {executor}" in result.stderr
    assert "pip install" not in log


@pytest.mark.parametrize("executor, module", [("thread", "multigpu.comfy_adapter.selfcheck"),
                                              ("process", "multigpu.worker_pack.selfcheck")])
def test_the_build_runs_the_executors_self_check(tmp_path, executor, module):
    result, log = run_instruction(".selfcheck --comfyui", tmp_path, executor)
    assert result.returncode == 0, result.stderr
    assert log == f"python3 -m {module} --comfyui {tmp_path}/opt/comfyui\n"


def test_the_image_keeps_a_custom_nodes_folder_which_comfyui_v0_33_needs_to_start():
    assert re.search(r"mkdir -p [^&]*/opt/comfyui/custom_nodes ", dockerfile())


def run_script(*args):
    return subprocess.run(["bash", SCRIPT, *args], capture_output=True, text=True)


def test_the_launcher_runs_under_tini_which_the_image_installs():
    # PID 1 must reap orphans (a dead process-mode worker's helpers) and forward SIGTERM to the launcher.
    import json
    entrypoint = re.search(r"^ENTRYPOINT (.+)$", dockerfile(), re.MULTILINE).group(1)
    assert json.loads(entrypoint) == ["/usr/bin/tini", "--", "python3", "-m", "multigpu.launch"]
    apt = re.search(r"apt-get install -y --no-install-recommends ([^\\]+)", dockerfile()).group(1)
    assert "tini" in apt.split()


def test_build_script_parses():
    assert subprocess.run(["bash", "-n", SCRIPT]).returncode == 0


def test_dry_run_reads_the_repository_from_the_stack_outputs_and_the_tag_from_versions_ts():
    result = run_script("--outputs", FIXTURE_OUTPUTS, "--dry-run")
    assert result.returncode == 0, result.stderr
    tag = ts_constant("lib/versions.ts", "COMFYUI_IMAGE_TAG")
    (login, build, push, build_process, push_process, build_gate, push_gate, build_runner,
     push_runner) = result.stdout.splitlines()
    assert login.startswith("aws ecr get-login-password --region eu-west-1 | docker login --username AWS")
    assert f"docker build --platform linux/amd64 --tag " in build and build.split("--tag ")[1].startswith(
        "210987654321.") and f"/comfyui:{tag} " in build and build.split("--file ")[1].startswith(f"{IMAGE_DIR}/Dockerfile ")
    assert push.endswith(f"/comfyui:{tag}")
    # The process-mode image: the same Dockerfile built for the other executor, PROCESS_MODE_TAG_PREFIX + tag.
    process_tag = ts_constant("lib/names.ts", "PROCESS_MODE_TAG_PREFIX") + tag
    assert " --build-arg COMFYUI_EXECUTOR=process --tag 210987654321." in build_process
    assert f"/comfyui:{process_tag} --file {IMAGE_DIR}/Dockerfile {IMAGE_DIR}" in build_process
    assert "COMFYUI_EXECUTOR" not in build and push_process.endswith(f"/comfyui:{process_tag}")
    # The model gate's image: same repository, the tag the manifests name (MODEL_GATE_TAG_PREFIX + tag).
    gate_tag = ts_constant("lib/names.ts", "MODEL_GATE_TAG_PREFIX") + tag
    assert f"/comfyui:{gate_tag} " in build_gate and f"--file {IMAGE_DIR}/model-gate.Dockerfile " in build_gate
    assert push_gate.endswith(f"/comfyui:{gate_tag}")
    # The job runner's image: same repository, JOB_RUNNER_TAG_PREFIX + tag.
    runner_tag = ts_constant("lib/names.ts", "JOB_RUNNER_TAG_PREFIX") + tag
    assert f"/comfyui:{runner_tag} " in build_runner and f"--file {IMAGE_DIR}/job-runner.Dockerfile " in build_runner
    assert push_runner.endswith(f"/comfyui:{runner_tag}")


def test_model_gate_image_is_python_only_and_runs_as_the_pods_user():
    with open(os.path.join(IMAGE_DIR, "model-gate.Dockerfile")) as handle:
        text = handle.read()
    instructions = [line.split()[0] for line in text.splitlines() if line and not line.startswith("#")]
    # No RUN, COPY or ADD: nothing beyond the distroless Python base goes into the image.
    assert instructions == ["ARG", "FROM", "ARG", "USER", "ENTRYPOINT"]
    assert re.search(r"^ARG MODEL_GATE_BASE=gcr\.io/distroless/python3-", text, re.MULTILINE)
    uid = ts_constant("lib/names.ts", "COMFYUI_UID")
    assert re.search(rf"^ARG COMFYUI_UID={uid}$", text, re.MULTILINE)


def test_dry_run_with_an_explicit_repository_and_tag_needs_no_outputs_file(tmp_path):
    result = run_script("--repository", "123.dkr.ecr.us-east-2.amazonaws.com/comfyui", "--tag", "0.2.0",
                        "--outputs", str(tmp_path / "missing.json"), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "--region us-east-2" in result.stdout
    assert result.stdout.splitlines()[2].endswith("comfyui:0.2.0")
    assert result.stdout.splitlines()[4].endswith("comfyui:process-0.2.0")
    assert result.stdout.splitlines()[6].endswith("comfyui:model-gate-0.2.0")
    assert result.stdout.rstrip().endswith("comfyui:job-runner-0.2.0")


def test_a_missing_outputs_file_is_named_with_the_fix(tmp_path):
    result = run_script("--outputs", str(tmp_path / "missing.json"), "--dry-run")
    assert result.returncode == 1
    assert "missing.json' not found" in result.stderr and "--repository URI" in result.stderr


def test_latest_is_refused():
    result = run_script("--outputs", FIXTURE_OUTPUTS, "--tag", "latest", "--dry-run")
    assert result.returncode == 1 and "latest is refused" in result.stderr
