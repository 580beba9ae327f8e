import { readFileSync } from 'fs';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, test } from 'vitest';
import { KEYS_PARAMETER_MAX_CHARS } from '../../lambda/model-sync/planner';
import { loadConfig } from '../../lib/config';
import {
  modelSyncDocumentContent,
  NODE_SYNC_SCRIPT,
  NODE_SYNC_USER,
  NODE_SYNC_USERADD_OPTIONS,
} from '../../lib/constructs/model-sync-document';
import { GPU_NODE_POOLS, MODEL_SYNC_DOCUMENT_NAME, modelSyncLogGroupName } from '../../lib/names';
import { ModelsSyncStack } from '../../lib/stacks/models-sync-stack';

/** SSM's limit for a document plus the parameters of one command. */
const SSM_DOCUMENT_LIMIT_BYTES = 64 * 1024;

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

  test('creates the sync Command document from the repository script, byte for byte', () => {
    const docs = template.findResources('AWS::SSM::Document');
    const [doc] = Object.values(docs) as any[];
    expect(Object.keys(docs)).toHaveLength(1);
    expect(doc.Properties).toMatchObject({ Name: MODEL_SYNC_DOCUMENT_NAME, DocumentType: 'Command' });
    const lines: string[] = doc.Properties.Content.mainSteps[0].inputs.runCommand;
    const start = lines.findIndex((l) => l.startsWith('cat > "$script"'));
    const end = lines.indexOf('COMFYUI_SYNC_MODELS_PY');
    expect(lines.slice(start + 1, end).join('\n') + '\n').toBe(readFileSync(NODE_SYNC_SCRIPT, 'utf8'));
    expect(lines.find((l) => l.startsWith('args=('))).toContain("--keys-b64 '{{ keys }}'");
  });

  test('runs the sync as the unprivileged user; root only prepares the cache for it', () => {
    const lines: string[] = (modelSyncDocumentContent({ bucketName: 'models', region: 'us-west-2' }) as any)
      .mainSteps[0].inputs.runCommand;
    const tail = lines.slice(lines.indexOf('COMFYUI_SYNC_MODELS_PY') + 1);
    expect(tail).toEqual([
      'chmod 0644 "$script"',
      expect.stringMatching(/^args=\(--bucket 'models' .*--keys-b64 '\{\{ keys \}\}'\)$/),
      `getent passwd ${NODE_SYNC_USER} >/dev/null || useradd ${NODE_SYNC_USERADD_OPTIONS} ${NODE_SYNC_USER}`,
      `/usr/bin/python3 "$script" "\${args[@]}" --prepare-cache-for ${NODE_SYNC_USER}`,
      'cd /',
      `runuser -u ${NODE_SYNC_USER} -- /usr/bin/python3 "$script" "\${args[@]}"`,
    ]);
    // The boot unit names the same user, and install-node-sync.sh creates it the same way.
    const node = path.dirname(NODE_SYNC_SCRIPT);
    expect(readFileSync(path.join(node, 'comfyui-model-sync.service'), 'utf8')).toContain(`\nUser=${NODE_SYNC_USER}\n`);
    const installer = readFileSync(path.join(node, 'install-node-sync.sh'), 'utf8');
    expect(installer).toContain(`sync_user=${NODE_SYNC_USER}\n`);
    expect(installer).toContain(`useradd "\${prefix[@]}" ${NODE_SYNC_USERADD_OPTIONS} "$sync_user"`);
  });

  test('fits SSM\'s 64 KB limit together with the largest keys parameter the Lambda sends', () => {
    const content = JSON.stringify(modelSyncDocumentContent({ bucketName: 'b'.repeat(63), region: 'ap-southeast-2' }));
    expect(Buffer.byteLength(content) + KEYS_PARAMETER_MAX_CHARS).toBeLessThan(SSM_DOCUMENT_LIMIT_BYTES);
  });

  test('admits only base64 for the keys parameter, so keys cannot inject shell code', () => {
    const content = modelSyncDocumentContent({ bucketName: 'models', region: 'us-west-2' }) as any;
    const pattern = new RegExp(content.parameters.keys.allowedPattern);
    expect(pattern.test(Buffer.from('["loras/a.pt"]').toString('base64'))).toBe(true);
    expect(pattern.test("'; reboot #")).toBe(false);
    expect(pattern.test('$(id)')).toBe(false);
  });

  test('refuses a script that SSM would misread or that would end the heredoc early', () => {
    expect(() => modelSyncDocumentContent({ bucketName: 'm', region: 'r', script: 'x = "{{ oops }}"\n' }))
      .toThrow("contains '{{'");
    expect(() => modelSyncDocumentContent({ bucketName: 'm', region: 'r', script: 'a\nCOMFYUI_SYNC_MODELS_PY\n' }))
      .toThrow('contains the line');
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
