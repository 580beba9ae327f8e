#!/usr/bin/env bash
# CPU rehearsal: the executor's self-check (as `docker build` runs it), then the pinned ComfyUI started
# by this image's launcher with COMFY_MULTI_GPU_DEVICE=cpu, checked over real HTTP and WebSocket
# (rehearsal/test_*.py). Not part of `npm test`:
# it needs ComfyUI's source and PyTorch (a few GB), which CI does not download.
#
#   comfyui_image/rehearsal/run.sh [--executor thread|process] [--comfyui DIR] [--python PY]
#                                  [--extra-pythonpath DIR] [--workers N] [-- pytest args]
#
#   --executor E   thread (default): ComfyUI at pins.py's COMFYUI_TAG, every test (process mode's too);
#                  process: ComfyUI at PROCESS_COMFYUI_TAG, only rehearsal/test_process_*.py (thread
#                  mode's adapter is verified on its own pin; its tests are reported as skipped)
#   --comfyui DIR  a ComfyUI checkout at the executor's pinned release (default: clone it into
#                  build/rehearsal/ComfyUI-<executor>; needs github.com)
#   --python PY    a python with PyTorch and that ComfyUI's requirements (default: create
#                  build/rehearsal/venv-<executor> with the Dockerfile's torch pins; TORCH_INDEX_URL as in
#                  the Dockerfile, e.g. https://download.pytorch.org/whl/cpu for small CPU wheels)
#   --extra-pythonpath DIR  put DIR first on PYTHONPATH for the self-check, the tests and every ComfyUI they
#                  start: packages a newer ComfyUI needs that PY lacks (e.g. v0.33's comfy-aimdo,
#                  comfy-kitchen 0.2.31, frontend 1.48.7 unpacked with `pip install --target DIR --no-deps`)
#   --workers N    workers on the CPU (default 2)
set -euo pipefail

image_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
repo_dir="$(cd "$image_dir/.." && pwd)"
work="$repo_dir/build/rehearsal"
comfyui="" python="" workers=2 executor=thread extra_pythonpath=""
while [ $# -gt 0 ]; do
  case "$1" in
    --executor) executor="$2"; shift 2 ;;
    --extra-pythonpath) extra_pythonpath="$(cd "$2" && pwd)"; shift 2 ;;
    --comfyui) comfyui="$2"; shift 2 ;;
    --python) python="$2"; shift 2 ;;
    --workers) workers="$2"; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

case "$executor" in
  thread) pin_prefix="" selfcheck="multigpu.comfy_adapter.selfcheck" ;;
  process) pin_prefix="PROCESS_" selfcheck="multigpu.worker_pack.selfcheck" ;;
  *) echo "--executor must be thread or process, got '$executor'" >&2; exit 2 ;;
esac

# Pins are read from where they are defined: the adapter's pins.py and the Dockerfile's ARGs.
pin() { sed -n "s/^$1 = \"\(.*\)\"$/\1/p" "$image_dir/multigpu/comfy_adapter/pins.py"; }
arg() { sed -n "s/^ARG $1=//p" "$image_dir/Dockerfile"; }
tag="$(pin "${pin_prefix}COMFYUI_TAG")" commit="$(pin "${pin_prefix}COMFYUI_COMMIT")"
[ -n "$tag" ] && [ -n "$commit" ] || { echo "no ${pin_prefix}COMFYUI_TAG/COMMIT in multigpu/comfy_adapter/pins.py" >&2; exit 1; }

if [ -z "$comfyui" ]; then
  comfyui="$work/ComfyUI-$executor"
  if [ ! -f "$comfyui/main.py" ]; then
    echo "cloning ComfyUI $tag into $comfyui"
    git clone --depth 1 --branch "$tag" "$(arg COMFYUI_REPO)" "$comfyui"
  fi
  actual="$(git -C "$comfyui" rev-parse HEAD)"
  [ "$actual" = "$commit" ] || { echo "$comfyui is at $actual, the pin is ${pin_prefix}COMFYUI_TAG $tag = $commit" >&2; exit 1; }
fi
[ -f "$comfyui/main.py" ] || { echo "no main.py in $comfyui: pass a ComfyUI checkout with --comfyui" >&2; exit 2; }
version="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$comfyui/comfyui_version.py" 2>/dev/null || true)"
if [ "v$version" != "$tag" ]; then
  echo "warning: $comfyui is ComfyUI ${version:-of unknown version}; $executor mode is pinned to $tag" >&2
fi

if [ -z "$python" ]; then
  python="$work/venv-$executor/bin/python"
  if [ ! -x "$python" ]; then
    echo "creating $work/venv-$executor (PyTorch $(arg TORCH_VERSION) and ComfyUI's requirements; a few GB)"
    python3 -m venv "$work/venv-$executor"
    torch=("torch==$(arg TORCH_VERSION)" "torchvision==$(arg TORCHVISION_VERSION)" "torchaudio==$(arg TORCHAUDIO_VERSION)")
    "$python" -m pip install --progress-bar on ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} "${torch[@]}"
    "$python" -m pip install --progress-bar on -r "$comfyui/requirements.txt" -r "$image_dir/requirements-image.txt" "${torch[@]}"
  fi
fi
if ! "$python" -c "import pytest" 2>/dev/null; then
  "$python" -m pip install "$(grep '^pytest==' "$image_dir/requirements-dev.txt")"
fi

cd "$image_dir"
# The tests start ComfyUI with this PYTHONPATH too (comfyui_process.py keeps it behind the image's package).
[ -z "$extra_pythonpath" ] || export PYTHONPATH="$extra_pythonpath${PYTHONPATH:+:$PYTHONPATH}"
echo "$executor mode self-check against $comfyui (the Dockerfile's build step)"
mkdir -p "$work"
if ! PYTHONPATH="$image_dir${PYTHONPATH:+:$PYTHONPATH}" "$python" -m "$selfcheck" --comfyui "$comfyui" > "$work/selfcheck.txt" 2>&1; then
  cat "$work/selfcheck.txt" >&2
  exit 1
fi
tail -1 "$work/selfcheck.txt"
echo "ComfyUI $comfyui, python $python, $workers workers on the CPU, $executor mode"
COMFYUI_DIR="$comfyui" REHEARSAL_WORKERS="$workers" REHEARSAL_EXECUTOR="$executor" \
  "$python" -m pytest -p no:cacheprovider --rootdir rehearsal -c /dev/null rehearsal "$@"
