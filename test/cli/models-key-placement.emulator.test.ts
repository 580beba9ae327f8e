import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { EXIT } from '../../lib/cli/cli-error';
import { keyFolders } from '../../lib/cli/models/key-placement';
import { runCaptured } from '../helpers/captured-comfyctl';
import { MotoServer, startMotoServer } from '../helpers/moto-server';

const BUCKET = 'models-placement-test';
let moto: MotoServer;
let s3: S3Client;
let dir: string;
let aws: string[];

async function exists(key: string): Promise<boolean> {
  return s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })).then(() => true, () => false);
}

beforeAll(async () => {
  moto = await startMotoServer();
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1' });
  s3 = new S3Client({ region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  for (const key of ['loras/style', 'loras/pack/a.safetensors', 'loras/markers/', 'loras/empty/']) {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key.endsWith('/') ? '' : 'x' }));
  }
  dir = mkdtempSync(path.join(os.tmpdir(), 'models-placement-'));
  writeFileSync(path.join(dir, 'model.safetensors'), 'weights');
  aws = ['--bucket', BUCKET, '--endpoint-url', moto.endpoint, '--region', 'us-east-1', '--outputs', path.join(dir, 'absent.json')];
});

afterAll(async () => {
  await moto?.stop();
});

describe('models upload refuses a key that would clash with a file or a folder in the bucket (nodes could not store both)', () => {
  test('a key below an existing object of the folder\'s name', async () => {
    const run = await runCaptured(['models', 'upload', path.join(dir, 'model.safetensors'), '--type', 'loras', '--subfolder', 'style', ...aws]);
    expect(run.code).toBe(EXIT.validation);
    expect(run.stderr).toContain("cannot upload 'loras/style/model.safetensors': 'loras/style' is also the folder of 'loras/style/model.safetensors'");
    expect(await exists('loras/style/model.safetensors')).toBe(false);
  });

  test('a key that names a folder holding other models', async () => {
    const run = await runCaptured(['models', 'upload', path.join(dir, 'model.safetensors'), '--type', 'loras', '--name', 'pack', ...aws]);
    expect(run.code).toBe(EXIT.validation);
    expect(run.stderr).toContain("'loras/pack' is also the folder of 'loras/pack/a.safetensors'");
    expect(await exists('loras/pack')).toBe(false);
  });

  test('but not one beside a folder marker, nor one whose name only starts like a file', async () => {
    for (const [name, subfolder] of [['empty', ''], ['model.safetensors', 'markers'], ['model.safetensors', 'style2']]) {
      const run = await runCaptured(['models', 'upload', path.join(dir, 'model.safetensors'), '--type', 'loras', '--name', name,
        ...(subfolder ? ['--subfolder', subfolder] : []), '--quiet', ...aws]);
      expect(run.code, run.stderr).toBe(0);
    }
  });
});

test('the folders of a key are those below its model folder', () => {
  expect(keyFolders('loras/a/b/c.pt')).toEqual(['loras/a', 'loras/a/b']);
  expect(keyFolders('loras/c.pt')).toEqual([]);
});
