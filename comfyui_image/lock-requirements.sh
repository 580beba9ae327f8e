#!/usr/bin/env bash
# Regenerates the image's hashed lock files. Per executor (the Dockerfile's COMFYUI_EXECUTOR):
#   thread:  requirements-torch.lock and requirements.lock, from comfyui-requirements.txt (ComfyUI's
#            requirements.txt at pins.py's COMFYUI_TAG);
#   process: requirements-process.lock, from comfyui-requirements-process.txt (at PROCESS_COMFYUI_TAG); the
#            process image installs the same requirements-torch.lock, so this resolution must keep its pins;
# each with requirements-image.txt and the Dockerfile's TORCH_VERSION / TORCHVISION_VERSION / TORCHAUDIO_VERSION.
# With both executors (the default) also the job runner's image lock, job-runner.lock, from
# job-runner-requirements.txt at the versions requirements-dev.txt pins (the ones its tests run against).
# uv resolves each set together for the image (linux/amd64, Ubuntu 24.04's Python 3.12) and writes every file
# hash PyPI lists; requirements_lock.py splits the result into the torch layer and the rest.
#
#   bash comfyui_image/lock-requirements.sh                          # after changing an input: keeps other pins
#   bash comfyui_image/lock-requirements.sh --executor process       # only the process image's lock
#   bash comfyui_image/lock-requirements.sh --upgrade-package aiohttp  # upgrade one package on purpose
#   bash comfyui_image/lock-requirements.sh --upgrade                  # upgrade everything on purpose
#
# --executor thread|process (first) limits the run to one image; other arguments go to `uv pip compile`.
# uv (pinned below) is installed into a virtualenv outside the clone.
# Needs PyPI; the tests (tests/adapter/test_requirements_lock.py, test_process_requirements_lock.py) check the
# result offline.
set -euo pipefail
cd "$(dirname "$0")"

UV_VERSION=0.13.9
tools="${XDG_CACHE_HOME:-$HOME/.cache}/comfyui-on-eks/lock-tools-uv-${UV_VERSION}"
if [ ! -x "$tools/bin/uv" ]; then
  python3 -m venv "$tools"
  "$tools/bin/pip" install --quiet --disable-pip-version-check "uv==${UV_VERSION}"
fi

arg() {
  local value
  value=$(sed -n "s/^ARG $1=//p" Dockerfile)
  [ -n "$value" ] || { echo "Dockerfile has no 'ARG $1=' default" >&2; exit 1; }
  echo "$value"
}
torch_pins="torch==$(arg TORCH_VERSION)
torchvision==$(arg TORCHVISION_VERSION)
torchaudio==$(arg TORCHAUDIO_VERSION)"

executors=(thread process)
if [ "${1:-}" = "--executor" ]; then
  case "${2:-}" in
    thread|process) executors=("$2") ;;
    *) echo "--executor must be thread or process, got '${2:-}'" >&2; exit 2 ;;
  esac
  shift 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# resolve REQUIREMENTS SEED_LOCK...: uv keeps the versions of an existing output file unless told to
# upgrade, so the resolution starts from the current locks.
resolve() {
  local requirements=$1
  shift
  cat "$@" > "$work/resolved.lock" 2>/dev/null || true
  echo "$torch_pins" | "$tools/bin/uv" pip compile --quiet --generate-hashes \
    --python-platform x86_64-manylinux_2_28 --python-version 3.12 \
    --custom-compile-command "bash comfyui_image/lock-requirements.sh" \
    "$requirements" requirements-image.txt - --output-file "$work/resolved.lock" "${uv_args[@]}"
}
uv_args=("$@")

for executor in "${executors[@]}"; do
  if [ "$executor" = thread ]; then
    resolve comfyui-requirements.txt requirements-torch.lock requirements.lock
    python3 requirements_lock.py split "$work/resolved.lock" requirements-torch.lock requirements.lock
    echo "wrote comfyui_image/requirements-torch.lock ($(grep -c '==' requirements-torch.lock) packages)" \
         "and comfyui_image/requirements.lock ($(grep -c '==' requirements.lock) packages)"
  else
    resolve comfyui-requirements-process.txt requirements-torch.lock requirements-process.lock
    python3 requirements_lock.py rest "$work/resolved.lock" requirements-torch.lock requirements-process.lock
    echo "wrote comfyui_image/requirements-process.lock ($(grep -c '==' requirements-process.lock) packages)"
  fi
done
[ "${#executors[@]}" -eq 2 ] || exit 0

# The job runner's image (job-runner.Dockerfile): its own small lock. requirements-dev.txt is a constraint,
# so the image gets exactly the versions the runner's tests ran with; upgrade them there.
"$tools/bin/uv" pip compile --quiet --generate-hashes \
  --python-platform x86_64-manylinux_2_28 --python-version 3.12 \
  --custom-compile-command "bash comfyui_image/lock-requirements.sh" \
  job-runner-requirements.txt --constraint requirements-dev.txt --output-file job-runner.lock
echo "wrote comfyui_image/job-runner.lock ($(grep -c '==' job-runner.lock) packages)"
