import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { modelSyncDocumentContent } from '../../lib/constructs/model-sync-document';
import { NODE_INSTANCE_STORE_MOUNT, NODE_MODEL_CACHE_DIR, NODE_S5CMD_PATH } from '../../lib/names';
import { MotoServer, startMotoServer } from '../helpers/moto-server';

/**
 * Runs the synthesized document's shell exactly as the SSM agent would (after parameter substitution),
 * with only the node paths pointed at a temp dir, against S3 on the moto emulator.
 */
const S5CMD = path.join(__dirname, '..', '..', '.venv', 'bin', 's5cmd');
const BUCKET = 'models-document-test';
let moto: MotoServer;
let env: NodeJS.ProcessEnv;

function runDocument(keysParameter: string, cacheDir: string) {
  const content = modelSyncDocumentContent({ bucketName: BUCKET, region: 'us-east-1' }) as any;
  const shell = (content.mainSteps[0].inputs.runCommand as string[]).join('\n')
    .replace('{{ keys }}', keysParameter)
    .replaceAll(`'${NODE_MODEL_CACHE_DIR}'`, `'${cacheDir}'`)
    .replaceAll(`'${NODE_INSTANCE_STORE_MOUNT}'`, "'/'")
    .replaceAll(`'${NODE_S5CMD_PATH}'`, `'${S5CMD}'`)
    // The test machine's disk is not a GPU node's array: its size and fill level must not decide the test.
    .replace('--mount-wait-seconds 0', '--mount-wait-seconds 0 --reserve-percent 0 --reserve-gib 0');
  expect(shell).toContain('--reserve-percent 0 --reserve-gib 0');
  expect(shell).not.toContain('{{');
  return spawnSync('bash', ['-c', shell], { env, encoding: 'utf8', timeout: 60_000 });
}

beforeAll(async () => {
  moto = await startMotoServer();
  env = {
    ...process.env,
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'doc-'));
  writeFileSync(path.join(dir, 'model.safetensors'), 'weights');
  execFileSync(S5CMD, ['--endpoint-url', moto.endpoint, 'mb', `s3://${BUCKET}`], { env });
  execFileSync(S5CMD, ['--endpoint-url', moto.endpoint, 'cp', path.join(dir, 'model.safetensors'),
    `s3://${BUCKET}/checkpoints/my model.safetensors`], { env });
}, 60_000);

afterAll(async () => {
  await moto?.stop();
});

describe('the ComfyUI-SyncModels document', () => {
  test('runs the embedded script: a full sync with an empty keys parameter', () => {
    const cache = mkdtempSync(path.join(os.tmpdir(), 'cache-'));
    const result = runDocument('', cache);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(readFileSync(path.join(cache, 'models', 'checkpoints', 'my model.safetensors'), 'utf8')).toBe('weights');
    expect(result.stdout).toContain('full sync of s3://models-document-test');
  });

  test('runs a keys sync with the parameter the Lambda sends', () => {
    const cache = mkdtempSync(path.join(os.tmpdir(), 'cache-'));
    const keys = Buffer.from(JSON.stringify(['checkpoints/my model.safetensors'])).toString('base64');
    const result = runDocument(keys, cache);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('keys sync of s3://models-document-test: 1 objects listed, 1 to download');
  });
});
