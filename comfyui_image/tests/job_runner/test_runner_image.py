"""The runner's image files: a hashed lock at the versions the tests ran with, a non-root image that holds
the package and the contract where contract.py reads it, and a package that needs no ComfyUI."""
import ast
import os
import pathlib
import re

from job_runner.contract import CONTRACT_PATH
from requirements_lock import canonical, read_lock

IMAGE_DIR = pathlib.Path(__file__).resolve().parents[2]
REPO_ROOT = IMAGE_DIR.parent


def pins(path):
    return {canonical(m.group(1)): m.group(2) for m in
            re.finditer(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$", (IMAGE_DIR / path).read_text(), re.MULTILINE)}


def test_the_runner_lock_is_hashed_and_at_the_versions_the_tests_ran_with():
    lock = read_lock((IMAGE_DIR / "job-runner.lock").read_text())
    assert lock and all(pin.hashes for pin in lock)
    dev = pins("requirements-dev.txt")
    assert {p.name: p.version for p in lock if p.name in dev} == {p.name: dev[p.name] for p in lock if p.name in dev}
    # typing-extensions is the only one the image's Python (3.12) needs and the dev venv may lack.
    assert {p.name for p in lock} - set(dev) <= {"typing-extensions"}
    wanted = {canonical(line.strip()) for line in (IMAGE_DIR / "job-runner-requirements.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")}
    assert wanted == {"aiohttp", "boto3"} and wanted <= {p.name for p in lock}


def test_the_lock_script_writes_the_runner_lock_from_its_inputs():
    script = (IMAGE_DIR / "lock-requirements.sh").read_text()
    assert "job-runner-requirements.txt --constraint requirements-dev.txt --output-file job-runner.lock" in script


def test_the_image_installs_only_the_lock_and_runs_the_package_as_the_pods_user():
    text = (IMAGE_DIR / "job-runner.Dockerfile").read_text()
    assert re.search(r"^ARG JOB_RUNNER_BASE=python:3\.12-slim", text, re.MULTILINE)
    assert "--require-hashes --no-deps" in text and "-r /tmp/job-runner.lock" in text
    uid = re.search(r"export const COMFYUI_UID = (\d+);", (REPO_ROOT / "lib/names.ts").read_text()).group(1)
    assert re.search(rf"^ARG COMFYUI_UID={uid}$", text, re.MULTILINE)
    assert text.rstrip().endswith('ENTRYPOINT ["python3", "-m", "job_runner"]')
    # contract.py reads the contract from the folder above the package: the image puts both in /app.
    assert os.path.dirname(CONTRACT_PATH) == str(IMAGE_DIR)
    assert "COPY jobs_contract.json /app/jobs_contract.json" in text and "COPY job_runner /app/job_runner" in text
    assert "PYTHONDONTWRITEBYTECODE=1" in text  # read-only root filesystem


def test_the_runner_package_imports_neither_comfyui_nor_torch_nor_the_multi_gpu_package():
    imported = set()
    for path in (IMAGE_DIR / "job_runner").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add(node.module.split(".")[0])
    assert imported & {"torch", "comfy", "comfy_execution", "multigpu", "folder_paths", "execution"} == set()
    assert imported - {"__future__"} <= {"aiohttp", "boto3", "botocore", "asyncio", "concurrent", "copy", "dataclasses",
                                         "decimal", "enum", "functools", "json", "mimetypes", "os", "posixpath",
                                         "re", "signal", "socket", "ssl", "sys", "time", "typing", "urllib", "uuid"}
