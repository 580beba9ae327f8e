import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { KEYS_PARAMETER_MAX_CHARS, SYNC_EXECUTION_TIMEOUT_SECONDS } from '../../lambda/model-sync/planner';
import { MODEL_FOLDERS } from '../model-folders';
import { NODE_INSTANCE_STORE_MOUNT, NODE_MODEL_CACHE_DIR, NODE_S5CMD_PATH } from '../names';
import { NODE_SYNC_ENTRY, nodeSyncArchive } from './node-sync-archive';

/** Heredoc terminator of the embedded archive: underscores are not in base64's alphabet, so no line equals it. */
export const ARCHIVE_HEREDOC_END = 'COMFYUI_MODEL_SYNC_TAR_GZ';
/** Characters per line of the embedded base64, as `base64` writes it. */
const BASE64_LINE = 76;

/**
 * The sync stops this long before the step's timeout (executionTimeout), when the SSM agent kills the
 * command's whole process group: time to record why in status.json, stop s5cmd and leave its request queued
 * for the next run (sync_models.py --stop-by).
 */
export const SYNC_STOP_MARGIN_SECONDS = 60;

/**
 * The system user the node sync runs as (install-node-sync.sh creates it, the unit's User= names it): it may
 * write only the model cache, so a bucket key cannot make the sync write anywhere else.
 */
export const NODE_SYNC_USER = 'comfyui-sync';

/**
 * How the user is created, here and in install-node-sync.sh (a test keeps them equal): a system account
 * without home or login shell. ComfyUI pods (uid 10001) read the world-readable files; they share no uid.
 */
export const NODE_SYNC_USERADD_OPTIONS = '--system --user-group --no-create-home --home-dir /nonexistent --shell /sbin/nologin';

export interface ModelSyncDocumentContentProps {
  /** Models bucket the nodes mirror. */
  readonly bucketName: string;
  /** Region of the bucket. */
  readonly region: string;
  /** The sync program as a gzipped tar. @default nodeSyncArchive(): sync_models.py and its model_sync package */
  readonly archive?: Buffer;
}

/**
 * An SSM Command document (schema 2.2) that unpacks the sync program (sync_models.py and its package, the
 * files the boot unit runs, as a base64 gzipped tar: the plain text would not fit SSM's 64 KB with the keys)
 * into a temp folder and runs it for the changed keys. Keys arrive base64-encoded and the parameter's
 * allowedPattern admits base64 only, so no object key can reach the shell as code.
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/documents-syntax-data-elements-parameters.html
 *
 * The SSM agent runs it as root; root only prepares the cache (the script's --prepare-cache-for: creates its
 * folders and gives them to NODE_SYNC_USER, never following a symlink), and `runuser` runs the sync itself as
 * that user, as the node's boot unit does with User=.
 */
export function modelSyncDocumentContent(props: ModelSyncDocumentContentProps): Record<string, unknown> {
  const encoded = (props.archive ?? nodeSyncArchive()).toString('base64');
  const lines = encoded.match(new RegExp(`.{1,${BASE64_LINE}}`, 'g')) ?? [];
  const args = `args=(${[
    `--bucket '${props.bucketName}'`,
    `--region '${props.region}'`,
    `--data-dir '${NODE_MODEL_CACHE_DIR}'`,
    `--folders '${MODEL_FOLDERS.join(',')}'`,
    `--require-mount '${NODE_INSTANCE_STORE_MOUNT}' --mount-wait-seconds 0`,
    `--s5cmd '${NODE_S5CMD_PATH}'`,
    "--keys-b64 '{{ keys }}'",
    '--stop-by "$stop_by"',
  ].join(' ')})`;
  return {
    schemaVersion: '2.2',
    description: `Sync this node's ComfyUI model cache with s3://${props.bucketName} (lambda/model-sync/node/${NODE_SYNC_ENTRY}).`,
    parameters: {
      keys: {
        type: 'String',
        default: '',
        description: 'Base64 JSON list of changed model keys; empty reconciles the whole bucket.',
        allowedPattern: `^[A-Za-z0-9+/=]{0,${KEYS_PARAMETER_MAX_CHARS}}$`,
      },
      executionTimeout: {
        type: 'String',
        default: String(SYNC_EXECUTION_TIMEOUT_SECONDS),
        description: 'Seconds the sync may run.',
        allowedPattern: '^[1-9][0-9]{0,4}$',
      },
    },
    mainSteps: [
      {
        action: 'aws:runShellScript',
        name: 'syncModels',
        precondition: { StringEquals: ['platformType', 'Linux'] },
        inputs: {
          timeoutSeconds: '{{ executionTimeout }}',
          runCommand: [
            'set -euo pipefail',
            // First, so the time the steps below take counts too.
            `stop_by=$(( $(date +%s) + {{ executionTimeout }} - ${SYNC_STOP_MARGIN_SECONDS} ))`,
            'program=$(mktemp -d /tmp/comfyui-model-sync.XXXXXX)',
            'trap \'rm -rf "$program"\' EXIT',
            `base64 -d > "$program/program.tar.gz" <<'${ARCHIVE_HEREDOC_END}'`,
            ...lines,
            ARCHIVE_HEREDOC_END,
            // Python's tarfile, not tar(1), which a minimal AL2023 image may lack; the 'data' filter where the
            // python has it (3.12 warns without one).
            '/usr/bin/python3 -c \'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2], **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))\' "$program/program.tar.gz" "$program"',
            // mktemp made the folder 0700; the sync user must read the program (root still owns it, in sticky /tmp).
            'chmod -R a+rX "$program"',
            `script="$program/${NODE_SYNC_ENTRY}"`,
            args,
            // Nodes that booted before the sync ran unprivileged have no such user yet.
            `getent passwd ${NODE_SYNC_USER} >/dev/null || useradd ${NODE_SYNC_USERADD_OPTIONS} ${NODE_SYNC_USER}`,
            `/usr/bin/python3 "$script" "\${args[@]}" --prepare-cache-for ${NODE_SYNC_USER}`,
            // From '/': the agent's working folder is root's, which the sync user may not enter.
            'cd /',
            `runuser -u ${NODE_SYNC_USER} -- /usr/bin/python3 "$script" "\${args[@]}"`,
          ],
        },
      },
    ],
  };
}

export interface ModelSyncDocumentProps extends ModelSyncDocumentContentProps {
  /** Document name the Lambda sends. */
  readonly documentName: string;
}

/** The `ComfyUI-SyncModels` Command document, created from the repository's node sync program. */
export class ModelSyncDocument extends Construct {
  readonly document: ssm.CfnDocument;

  constructor(scope: Construct, id: string, props: ModelSyncDocumentProps) {
    super(scope, id);
    this.document = new ssm.CfnDocument(this, 'Document', {
      name: props.documentName,
      documentType: 'Command',
      documentFormat: 'JSON',
      targetType: '/AWS::EC2::Instance',
      // A changed script replaces the document in place instead of failing on the fixed name.
      updateMethod: 'NewVersion',
      content: modelSyncDocumentContent(props),
    });
  }
}
