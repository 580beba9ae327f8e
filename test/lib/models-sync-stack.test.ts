import { readFileSync } from 'fs';
import * as path from 'path';
import { gunzipSync } from 'zlib';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, test } from 'vitest';
import { KEYS_PARAMETER_MAX_CHARS } from '../../lambda/model-sync/planner';
import { loadConfig } from '../../lib/config';
import {
  ARCHIVE_HEREDOC_END,
  modelSyncDocumentContent,
  NODE_SYNC_USER,
  NODE_SYNC_USERADD_OPTIONS,
  SYNC_STOP_MARGIN_SECONDS,
} from '../../lib/constructs/model-sync-document';
import { nodeSyncArchive, nodeSyncProgramFiles } from '../../lib/constructs/node-sync-archive';
import { NODE_SYNC_DIR } from '../../lib/constructs/node-sync-bundle';
import { GPU_NODE_POOLS, MODEL_SYNC_DOCUMENT_NAME, modelSyncLogGroupName } from '../../lib/names';
import { ModelsSyncStack } from '../../lib/stacks/models-sync-stack';

/** SSM's limit for a document plus the parameters of one command. */
const SSM_DOCUMENT_LIMIT_BYTES = 64 * 1024;

/** name -> contents of the regular files in a gzipped ustar archive. */
function untar(gz: Buffer): Map<string, string> {
  const tar = gunzipSync(gz);
  const files = new Map<string, string>();
  for (let at = 0; at + 512 <= tar.length && tar[at] !== 0;) {
    const name = tar.subarray(at, at + 100).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(tar.subarray(at + 124, at + 136).toString('ascii').replace(/\0.*$/s, ''), 8);
    files.set(name, tar.subarray(at + 512, at + 512 + size).toString('utf8'));
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

/** The archive a document's runCommand carries. */
function embeddedArchive(lines: string[]): Buffer {
  const start = lines.findIndex((l) => l.startsWith('base64 -d > "$program/program.tar.gz"'));
  return Buffer.from(lines.slice(start + 1, lines.indexOf(ARCHIVE_HEREDOC_END)).join(''), 'base64');
}

describe('LambdaModelsSync stack', () => {
  let template: Template;
  beforeAll(() => {
    // cdk.json's feature flags, as `cdk synth` applies them.
    const app = new App({ context: JSON.parse(readFileSync('cdk.json', 'utf8')).context });
    const config = loadConfig(() => undefined);
    template = Template.fromStack(
      new ModelsSyncStack(app, 'Models', { config, env: { account: config.account, region: config.region } }),
    );
  });

  test('creates the sync Command document from the repository program (the entry script and its package), byte for byte', () => {
    const docs = template.findResources('AWS::SSM::Document');
    const [doc] = Object.values(docs) as any[];
    expect(Object.keys(docs)).toHaveLength(1);
    expect(doc.Properties).toMatchObject({ Name: MODEL_SYNC_DOCUMENT_NAME, DocumentType: 'Command' });
    const lines: string[] = doc.Properties.Content.mainSteps[0].inputs.runCommand;
    const files = untar(embeddedArchive(lines));
    const names = nodeSyncProgramFiles();
    expect([...files.keys()]).toEqual(names);
    expect(names).toContain('model_sync/cli.py');
    for (const name of names) expect(files.get(name), name).toBe(readFileSync(path.join(NODE_SYNC_DIR, name), 'utf8'));
    expect(lines.find((l) => l.startsWith('args=('))).toContain("--keys-b64 '{{ keys }}'");
  });

  test('packs the same archive for the same files (no times or owners in it), so a synth changes the document only with the code', () => {
    expect(nodeSyncArchive().equals(nodeSyncArchive())).toBe(true);
    expect(nodeSyncArchive()[9]).toBe(3);
  });

  test('runs the sync as the unprivileged user; root only prepares the cache for it', () => {
    const lines: string[] = (modelSyncDocumentContent({ bucketName: 'models', region: 'us-west-2' }) as any)
      .mainSteps[0].inputs.runCommand;
    const tail = lines.slice(lines.indexOf(ARCHIVE_HEREDOC_END) + 2);
    expect(tail).toEqual([
      'chmod -R a+rX "$program"',
      'script="$program/sync_models.py"',
      expect.stringMatching(/^args=\(--bucket 'models' .*--keys-b64 '\{\{ keys \}\}' --stop-by "\$stop_by"\)$/),
      `getent passwd ${NODE_SYNC_USER} >/dev/null || useradd ${NODE_SYNC_USERADD_OPTIONS} ${NODE_SYNC_USER}`,
      `/usr/bin/python3 "$script" "\${args[@]}" --prepare-cache-for ${NODE_SYNC_USER}`,
      'cd /',
      `runuser -u ${NODE_SYNC_USER} -- /usr/bin/python3 "$script" "\${args[@]}"`,
    ]);
    // The boot unit names the same user, and install-node-sync.sh creates it the same way.
    const node = NODE_SYNC_DIR;
    expect(readFileSync(path.join(node, 'comfyui-model-sync.service'), 'utf8')).toContain(`\nUser=${NODE_SYNC_USER}\n`);
    const installer = readFileSync(path.join(node, 'install-node-sync.sh'), 'utf8');
    expect(installer).toContain(`sync_user=${NODE_SYNC_USER}\n`);
    expect(installer).toContain(`useradd "\${prefix[@]}" ${NODE_SYNC_USERADD_OPTIONS} "$sync_user"`);
  });

  test('fits SSM\'s 64 KB limit together with the largest keys parameter the Lambda sends', () => {
    const content = JSON.stringify(modelSyncDocumentContent({ bucketName: 'b'.repeat(63), region: 'ap-southeast-2' }));
    expect(Buffer.byteLength(content) + KEYS_PARAMETER_MAX_CHARS).toBeLessThan(SSM_DOCUMENT_LIMIT_BYTES);
  });

  test("stops the sync cleanly before SSM's timeout kills it: --stop-by from the step's start and executionTimeout", () => {
    const content = modelSyncDocumentContent({ bucketName: 'models', region: 'us-west-2' }) as any;
    const step = content.mainSteps[0].inputs;
    expect(step.timeoutSeconds).toBe('{{ executionTimeout }}');
    expect(step.runCommand.slice(0, 2)).toEqual([
      'set -euo pipefail',
      `stop_by=$(( $(date +%s) + {{ executionTimeout }} - ${SYNC_STOP_MARGIN_SECONDS} ))`,
    ]);
    expect(step.runCommand.find((l: string) => l.startsWith('args=('))).toContain('--stop-by "$stop_by"');
    // Only digits reach the shell's arithmetic.
    expect(new RegExp(content.parameters.executionTimeout.allowedPattern).test('3600; reboot')).toBe(false);
  });

  test('admits only base64 for the keys parameter, so keys cannot inject shell code', () => {
    const content = modelSyncDocumentContent({ bucketName: 'models', region: 'us-west-2' }) as any;
    const pattern = new RegExp(content.parameters.keys.allowedPattern);
    expect(pattern.test(Buffer.from('["loras/a.pt"]').toString('base64'))).toBe(true);
    expect(pattern.test("'; reboot #")).toBe(false);
    expect(pattern.test('$(id)')).toBe(false);
  });

  test('gives the function its five variables, the command log group included', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          MODELS_BUCKET: Match.anyValue(),
          CLUSTER_NAME: 'comfyui',
          NODE_POOLS: GPU_NODE_POOLS.join(','),
          SYNC_DOCUMENT_NAME: MODEL_SYNC_DOCUMENT_NAME,
          SYNC_LOG_GROUP: Match.anyValue(),
        }),
      },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: modelSyncLogGroupName('comfyui') });
  });

  test('batches up to 1,000 notifications with partial batch responses', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 1000,
      MaximumBatchingWindowInSeconds: 20,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });
});
