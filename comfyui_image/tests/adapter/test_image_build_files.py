"""The image's build files agree with the adapter's pins and the stack's names."""
import os
import re
import subprocess

from multigpu.comfy_adapter.pins import COMFYUI_COMMIT, COMFYUI_TAG

IMAGE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REPO_ROOT = os.path.dirname(IMAGE_DIR)
SCRIPT = os.path.join(IMAGE_DIR, "build_and_push.sh")
FIXTURE_OUTPUTS = os.path.join(REPO_ROOT, "test", "fixtures", "cdk-outputs.json")


def dockerfile_default(name):
    with open(os.path.join(IMAGE_DIR, "Dockerfile")) as handle:
        match = re.search(rf"^ARG {name}=(\S*)$", handle.read(), re.MULTILINE)
    assert match, f"Dockerfile has no 'ARG {name}=' default"
    return match.group(1)


def ts_constant(path, name):
    with open(os.path.join(REPO_ROOT, path)) as handle:
        return re.search(rf"export const {name} = '?([^';]+)'?;", handle.read()).group(1)


def test_dockerfile_builds_the_comfyui_tag_and_commit_the_adapter_is_pinned_to():
    assert dockerfile_default("COMFYUI_REF") == COMFYUI_TAG
    assert dockerfile_default("COMFYUI_COMMIT") == COMFYUI_COMMIT


def test_dockerfile_user_and_models_dir_match_the_manifests_names():
    assert dockerfile_default("COMFYUI_UID") == ts_constant("lib/names.ts", "COMFYUI_UID")
    with open(os.path.join(IMAGE_DIR, "Dockerfile")) as handle:
        assert ts_constant("lib/names.ts", "COMFYUI_IMAGE_MODELS_DIR") in handle.read()


def run_script(*args):
    return subprocess.run(["bash", SCRIPT, *args], capture_output=True, text=True)


def test_build_script_parses():
    assert subprocess.run(["bash", "-n", SCRIPT]).returncode == 0


def test_dry_run_reads_the_repository_from_the_stack_outputs_and_the_tag_from_versions_ts():
    result = run_script("--outputs", FIXTURE_OUTPUTS, "--dry-run")
    assert result.returncode == 0, result.stderr
    tag = ts_constant("lib/versions.ts", "COMFYUI_IMAGE_TAG")
    login, build, push, build_gate, push_gate, build_runner, push_runner = result.stdout.splitlines()
    assert login.startswith("aws ecr get-login-password --region eu-west-1 | docker login --username AWS")
    assert f"docker build --platform linux/amd64 --tag " in build and build.split("--tag ")[1].startswith(
        "210987654321.") and f"/comfyui:{tag} " in build and build.split("--file ")[1].startswith(f"{IMAGE_DIR}/Dockerfile ")
    assert push.endswith(f"/comfyui:{tag}")
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
    assert result.stdout.splitlines()[4].endswith("comfyui:model-gate-0.2.0")
    assert result.stdout.rstrip().endswith("comfyui:job-runner-0.2.0")


def test_a_missing_outputs_file_is_named_with_the_fix(tmp_path):
    result = run_script("--outputs", str(tmp_path / "missing.json"), "--dry-run")
    assert result.returncode == 1
    assert "missing.json' not found" in result.stderr and "--repository URI" in result.stderr


def test_latest_is_refused():
    result = run_script("--outputs", FIXTURE_OUTPUTS, "--tag", "latest", "--dry-run")
    assert result.returncode == 1 and "latest is refused" in result.stderr
