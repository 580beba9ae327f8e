#!/usr/bin/env bash
# Build the ComfyUI image and push it to the stack's ECR repository.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: comfyui_image/build_and_push.sh [options]

Builds comfyui_image/Dockerfile twice (ComfyUI for the thread executor, and with
--build-arg COMFYUI_EXECUTOR=process the process-mode image, one stock ComfyUI per GPU),
comfyui_image/model-gate.Dockerfile (the model gate's Python-only image) and
comfyui_image/job-runner.Dockerfile (the job runner) for linux/amd64 and pushes them to the ECR
repository that the ComfyuiEcrRepo stack created (output EcrRepositoryUri), tagged TAG, process-TAG,
model-gate-TAG and job-runner-TAG, where TAG is COMFYUI_IMAGE_TAG from lib/versions.ts and the prefixes
are PROCESS_MODE_TAG_PREFIX, MODEL_GATE_TAG_PREFIX and JOB_RUNNER_TAG_PREFIX from lib/names.ts (config
multiGpuExecutor picks TAG or process-TAG for the multi-GPU pods). The repository has immutable tags:
bump the tag to push new images.

Options:
  --outputs FILE      stack outputs file written by `cdk deploy --outputs-file` (default: cdk-outputs.json)
  --repository URI    ECR repository URI; skips reading the outputs file
  --tag TAG           image tag (default: COMFYUI_IMAGE_TAG in lib/versions.ts)
  --region REGION     AWS region for the login (default: taken from the repository URI)
  --dry-run           print the commands instead of running them
  -h, --help          show this help
USAGE
}

fail() {
  echo "build_and_push.sh: $*" >&2
  exit 1
}

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$script_dir/.." && pwd)"
outputs_file="cdk-outputs.json"
repository=""
tag=""
region=""
dry_run=false

while [[ $# -gt 0 ]]; do
  case "$1" in
    --outputs) [[ $# -ge 2 ]] || fail "--outputs needs a file"; outputs_file="$2"; shift 2 ;;
    --repository) [[ $# -ge 2 ]] || fail "--repository needs a URI"; repository="$2"; shift 2 ;;
    --tag) [[ $# -ge 2 ]] || fail "--tag needs a value"; tag="$2"; shift 2 ;;
    --region) [[ $# -ge 2 ]] || fail "--region needs a value"; region="$2"; shift 2 ;;
    --dry-run) dry_run=true; shift ;;
    -h|--help) usage; exit 0 ;;
    *) fail "unknown option '$1' (see --help)" ;;
  esac
done

# Stack and output names: STACK_NAMES.ecrRepo and OUTPUT_KEYS.ecrRepositoryUri in lib/names.ts.
if [[ -z "$repository" ]]; then
  [[ -f "$outputs_file" ]] || fail "stack outputs file '$outputs_file' not found; deploy with \
'npx cdk deploy --all --outputs-file cdk-outputs.json', pass --outputs FILE, or pass --repository URI"
  repository="$(python3 - "$outputs_file" <<'PY'
import json, sys
outputs = json.load(open(sys.argv[1]))
print(outputs.get("ComfyuiEcrRepo", {}).get("EcrRepositoryUri", ""))
PY
)"
  [[ -n "$repository" ]] || fail "'$outputs_file' has no ComfyuiEcrRepo.EcrRepositoryUri; deploy the \
ComfyuiEcrRepo stack with --outputs-file, or pass --repository URI"
fi

if [[ -z "$tag" ]]; then
  tag="$(sed -n "s/^export const COMFYUI_IMAGE_TAG = '\([^']*\)';.*/\1/p" "$repo_root/lib/versions.ts")"
  [[ -n "$tag" ]] || fail "COMFYUI_IMAGE_TAG not found in lib/versions.ts; pass --tag TAG"
fi
[[ "$tag" != "latest" ]] || fail "--tag latest is refused: the manifests name an exact tag"

registry="${repository%%/*}"
if [[ -z "$region" ]]; then
  # An ECR registry name is <account>.dkr.ecr.<region>.<domain>: the region is its fourth field.
  region="$(cut -d. -f4 <<<"$registry")"
  [[ -n "$region" ]] || fail "cannot read the region from repository '$repository'; pass --region REGION"
fi

# name_constant NAME: the string constant NAME from lib/names.ts.
name_constant() {
  local value
  value="$(sed -n "s/^export const $1 = '\([^']*\)';.*/\1/p" "$repo_root/lib/names.ts")"
  [[ -n "$value" ]] || fail "$1 not found in lib/names.ts"
  echo "$value"
}
gate_prefix="$(name_constant MODEL_GATE_TAG_PREFIX)"
runner_prefix="$(name_constant JOB_RUNNER_TAG_PREFIX)"
process_prefix="$(name_constant PROCESS_MODE_TAG_PREFIX)"

image="$repository:$tag"
process_image="$repository:$process_prefix$tag"
gate_image="$repository:$gate_prefix$tag"
runner_image="$repository:$runner_prefix$tag"
login=(aws ecr get-login-password --region "$region")
docker_login=(docker login --username AWS --password-stdin "$registry")
build=(docker build --platform linux/amd64 --tag "$image" --file "$script_dir/Dockerfile" "$script_dir")
push=(docker push "$image")
build_process=(docker build --platform linux/amd64 --build-arg COMFYUI_EXECUTOR=process --tag "$process_image" \
  --file "$script_dir/Dockerfile" "$script_dir")
push_process=(docker push "$process_image")
build_gate=(docker build --platform linux/amd64 --tag "$gate_image" --file "$script_dir/model-gate.Dockerfile" "$script_dir")
push_gate=(docker push "$gate_image")
build_runner=(docker build --platform linux/amd64 --tag "$runner_image" --file "$script_dir/job-runner.Dockerfile" "$script_dir")
push_runner=(docker push "$runner_image")

if $dry_run; then
  echo "${login[*]} | ${docker_login[*]}"
  echo "${build[*]}"
  echo "${push[*]}"
  echo "${build_process[*]}"
  echo "${push_process[*]}"
  echo "${build_gate[*]}"
  echo "${push_gate[*]}"
  echo "${build_runner[*]}"
  echo "${push_runner[*]}"
  exit 0
fi

command -v docker >/dev/null || fail "docker is not installed or not on PATH"
command -v aws >/dev/null || fail "the AWS CLI is not installed or not on PATH"
"${login[@]}" | "${docker_login[@]}"
"${build_gate[@]}"
"${build_runner[@]}"
"${build[@]}"
"${build_process[@]}"
"${push_gate[@]}"
"${push_runner[@]}"
"${push[@]}"
"${push_process[@]}"
echo "Pushed $image, $process_image, $gate_image and $runner_image"
