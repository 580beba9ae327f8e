#!/usr/bin/env bash
# CPU rehearsal: the adapter's self-check (as `docker build` runs it), then the pinned ComfyUI started
# by this image's launcher with COMFY_MULTI_GPU_DEVICE=cpu, checked over real HTTP and WebSocket
# (rehearsal/test_real_comfyui.py). Not part of `npm test`:
# it needs ComfyUI's source and PyTorch (a few GB), which CI does not download.
#
#   comfyui_image/rehearsal/run.sh [--comfyui DIR] [--python PY] [--workers N] [-- pytest args]
#
#   --comfyui DIR  a ComfyUI checkout at the pinned release (default: clone it into
#                  build/rehearsal/ComfyUI; needs github.com)
#   --python PY    a python with PyTorch and ComfyUI's requirements (default: create
#                  build/rehearsal/venv with the Dockerfile's torch pins; TORCH_INDEX_URL as in
#                  the Dockerfile, e.g. https://download.pytorch.org/whl/cpu for small CPU wheels)
#   --workers N    workers on the CPU (default 2)
set -euo pipefail

image_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
repo_dir="$(cd "$image_dir/.." && pwd)"
work="$repo_dir/build/rehearsal"
comfyui="" python="" workers=2
while [ $# -gt 0 ]; do
  case "$1" in
    --comfyui) comfyui="$2"; shift 2 ;;
    --python) python="$2"; shift 2 ;;
    --workers) workers="$2"; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

# Pins are read from where they are defined: the adapter's pins.py and the Dockerfile's ARGs.
pin() { sed -n "s/^$1 = \"\(.*\)\"$/\1/p" "$image_dir/multigpu/comfy_adapter/pins.py"; }
arg() { sed -n "s/^ARG $1=//p" "$image_dir/Dockerfile"; }
tag="$(pin COMFYUI_TAG)" commit="$(pin COMFYUI_COMMIT)"

if [ -z "$comfyui" ]; then
  comfyui="$work/ComfyUI"
  if [ ! -f "$comfyui/main.py" ]; then
    echo "cloning ComfyUI $tag into $comfyui"
    git clone --depth 1 --branch "$tag" "$(arg COMFYUI_REPO)" "$comfyui"
  fi
  actual="$(git -C "$comfyui" rev-parse HEAD)"
  [ "$actual" = "$commit" ] || { echo "$comfyui is at $actual, the pin is $tag = $commit" >&2; exit 1; }
fi
[ -f "$comfyui/main.py" ] || { echo "no main.py in $comfyui: pass a ComfyUI checkout with --comfyui" >&2; exit 2; }
version="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$comfyui/comfyui_version.py" 2>/dev/null || true)"
if [ "v$version" != "$tag" ]; then
  echo "warning: $comfyui is ComfyUI ${version:-of unknown version}; the adapter is pinned to $tag" >&2
fi

if [ -z "$python" ]; then
  python="$work/venv/bin/python"
  if [ ! -x "$python" ]; then
    echo "creating $work/venv (PyTorch $(arg TORCH_VERSION) and ComfyUI's requirements; a few GB)"
    python3 -m venv "$work/venv"
    torch=("torch==$(arg TORCH_VERSION)" "torchvision==$(arg TORCHVISION_VERSION)" "torchaudio==$(arg TORCHAUDIO_VERSION)")
    "$python" -m pip install --progress-bar on ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} "${torch[@]}"
    "$python" -m pip install --progress-bar on -r "$comfyui/requirements.txt" -r "$image_dir/requirements-image.txt" "${torch[@]}"
  fi
fi
if ! "$python" -c "import pytest" 2>/dev/null; then
  "$python" -m pip install "$(grep '^pytest==' "$image_dir/requirements-dev.txt")"
fi

cd "$image_dir"
echo "self-check against $comfyui (the Dockerfile's build step)"
mkdir -p "$work"
if ! PYTHONPATH="$image_dir" "$python" -m multigpu.comfy_adapter.selfcheck --comfyui "$comfyui" > "$work/selfcheck.txt" 2>&1; then
  cat "$work/selfcheck.txt" >&2
  exit 1
fi
tail -1 "$work/selfcheck.txt"
echo "ComfyUI $comfyui, python $python, $workers workers on the CPU"
COMFYUI_DIR="$comfyui" REHEARSAL_WORKERS="$workers" \
  "$python" -m pytest -p no:cacheprovider --rootdir rehearsal -c /dev/null rehearsal "$@"
