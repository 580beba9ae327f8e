import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { EXIT } from '../../lib/cli/cli-error';
import { uploadStream, UploadInterruptedError } from '../../lib/cli/models/stream-upload';
import { runCaptured } from '../helpers/captured-comfyctl';
import { DelayProxy, startDelayProxy } from '../helpers/delay-proxy';
import { MotoServer, startMotoServer } from '../helpers/moto-server';

const MIB = 1024 * 1024;
const BUCKET = 'models-cli-test';
/** The bucket named in test/fixtures/cdk-outputs.json, to prove the default comes from the outputs file. */
const OUTPUTS_BUCKET = 'studio-comfyui-models';
let moto: MotoServer;
/** Every S3 call of these tests goes through it, so they can count UploadPart requests. */
let observer: DelayProxy;
let s3: S3Client;
let dir: string;
let aws: string[];

function file(name: string, bytes: Buffer): string {
  const p = path.join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

async function objectBytes(key: string, bucket = BUCKET): Promise<Buffer | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await out.Body!.transformToByteArray());
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

async function pendingMultipartUploads(): Promise<number> {
  const out = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
  return out.Uploads?.length ?? 0;
}

function uploadPartRequests(key: string, proxy: DelayProxy = observer): number {
  return proxy.requests.filter((r) => r.method === 'PUT' && r.url.includes(key) && /[?&]partNumber=/.test(r.url)).length;
}

beforeAll(async () => {
  moto = await startMotoServer();
  observer = await startDelayProxy(moto.endpoint, 0, () => false);
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1' });
  s3 = new S3Client({ region: 'us-east-1', endpoint: observer.endpoint, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await s3.send(new CreateBucketCommand({ Bucket: OUTPUTS_BUCKET }));
  dir = mkdtempSync(path.join(os.tmpdir(), 'models-cli-'));
  aws = ['--endpoint-url', observer.endpoint, '--region', 'us-east-1', '--outputs', path.join(dir, 'absent.json')];
});

afterAll(async () => {
  await observer?.close();
  await moto?.stop();
});

describe('models upload', () => {
  const big = randomBytes(6 * MIB + 123);

  test('sends a file over 5 MiB as a multipart upload with progress, and says the nodes will sync', async () => {
    const local = file('big.safetensors', big);
    const run = await runCaptured(['models', 'upload', local, '--type', 'checkpoints', '--bucket', BUCKET, '--part-size', '5', ...aws]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(`uploaded s3://${BUCKET}/checkpoints/big.safetensors (6.0 MiB in 2 parts)\n`);
    expect(uploadPartRequests('checkpoints/big.safetensors')).toBe(2);
    expect(run.stderr).toMatch(/uploading checkpoints\/big\.safetensors: 100% 6\.0 MiB\/6\.0 MiB/);
    expect(run.stderr).toContain('GPU nodes sync the change on their own');
    expect((await objectBytes('checkpoints/big.safetensors'))?.equals(big)).toBe(true);
    expect(await pendingMultipartUploads()).toBe(0);
  });

  test('skips a file whose object already has the same size', async () => {
    const local = file('big.safetensors', big);
    const before = uploadPartRequests('checkpoints/big.safetensors');
    const run = await runCaptured(['models', 'upload', local, '--type', 'checkpoints', '--bucket', BUCKET, ...aws]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`skipped s3://${BUCKET}/checkpoints/big.safetensors: already in the bucket with the same size\n`);
    expect(uploadPartRequests('checkpoints/big.safetensors')).toBe(before);
  });

  test('refuses to replace an object of a different size without --force, and replaces it with --force', async () => {
    const local = file('other.bin', Buffer.from('a smaller model'));
    const args = ['models', 'upload', local, '--type', 'checkpoints', '--name', 'big.safetensors', '--bucket', BUCKET, ...aws];
    const refused = await runCaptured(args);
    expect(refused.code).toBe(EXIT.validation);
    expect(refused.stderr).toContain(`s3://${BUCKET}/checkpoints/big.safetensors: the bucket already holds a different object there`);
    expect(refused.stderr).toContain('--force');
    expect((await objectBytes('checkpoints/big.safetensors'))?.length).toBe(big.length);

    const forced = await runCaptured([...args, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toContain(`replacing s3://${BUCKET}/checkpoints/big.safetensors (6.0 MiB)`);
    expect((await objectBytes('checkpoints/big.safetensors'))?.toString()).toBe('a smaller model');
  });

  test('puts --subfolder and --name into the key', async () => {
    const local = file('lora.bin', Buffer.from('lora'));
    const run = await runCaptured(['models', 'upload', local, '--type', 'loras', '--subfolder', 'sdxl', '--name', 'ink.safetensors', '--bucket', BUCKET, ...aws]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`uploaded s3://${BUCKET}/loras/sdxl/ink.safetensors (4 B in 1 part)`);
  });

  test('names a missing file and exits with the usage code', async () => {
    const run = await runCaptured(['models', 'upload', path.join(dir, 'nope.safetensors'), '--type', 'vae', '--bucket', BUCKET, ...aws]);
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toBe(`comfyctl: file '${path.join(dir, 'nope.safetensors')}' not found: check the path\n`);
  });

  test('refuses a type outside the ComfyUI layout and lists the valid ones, before touching S3', async () => {
    const local = file('x.pt', Buffer.from('x'));
    const run = await runCaptured(['models', 'upload', local, '--type', 'lora', '--bucket', 'no-such-bucket', ...aws]);
    expect(run.code).toBe(EXIT.validation);
    expect(run.stderr).toContain("--type 'lora' is not a ComfyUI model folder (did you mean loras?)");
    expect(run.stderr).toContain('checkpoints, classifiers, clip');
  });

  test('says which bucket is missing', async () => {
    const local = file('x.pt', Buffer.from('x'));
    const run = await runCaptured(['models', 'upload', local, '--type', 'vae', '--bucket', 'no-such-bucket', ...aws]);
    expect(run.code).toBe(EXIT.failure);
    expect(run.stderr).toContain("bucket 'no-such-bucket' does not exist");
  });

  test('without --bucket and without an outputs file, says how to get one', async () => {
    const local = file('x.pt', Buffer.from('x'));
    const run = await runCaptured(['models', 'upload', local, '--type', 'vae', ...aws]);
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toContain('absent.json not found: pass --bucket, or deploy with');
  });
});

describe('an upload that does not finish leaves nothing behind', () => {
  /** A body that yields one 6 MiB chunk (a full 5 MiB part and a remainder) and then waits forever. */
  function stalledBody(): Readable {
    const body = new Readable({ read() {} });
    body.push(randomBytes(6 * MIB));
    return body;
  }

  test('an interruption after the first part aborts the multipart upload: no object, no pending upload', async () => {
    const controller = new AbortController();
    const key = 'checkpoints/interrupted.safetensors';
    const upload = uploadStream({
      bucket: { name: BUCKET, s3 },
      key,
      body: stalledBody(),
      partSizeBytes: 5 * MIB,
      concurrency: 2,
      signal: controller.signal,
      onProgress: (bytes) => { if (bytes >= 5 * MIB) controller.abort(); },
    });
    await expect(upload).rejects.toBeInstanceOf(UploadInterruptedError);
    expect(uploadPartRequests(key)).toBe(1);
    expect(await pendingMultipartUploads()).toBe(0);
    expect(await objectBytes(key)).toBeUndefined();
  });

  test('a body that fails midway (a read error, a cut download) aborts the multipart upload too', async () => {
    const key = 'checkpoints/broken.safetensors';
    const body = stalledBody();
    const upload = uploadStream({
      bucket: { name: BUCKET, s3 },
      key,
      body,
      partSizeBytes: 5 * MIB,
      concurrency: 2,
      onProgress: (bytes) => { if (bytes >= 5 * MIB) body.destroy(new Error('EIO: read failed')); },
    });
    await expect(upload).rejects.toThrow('EIO: read failed');
    expect(await pendingMultipartUploads()).toBe(0);
    expect(await objectBytes(key)).toBeUndefined();
  });
});

describe('Ctrl-C during models upload', () => {
  test('aborts the multipart upload and exits 130: no object, no pending upload', async () => {
    // Each UploadPart waits a second in the proxy, so the upload is still running when Ctrl-C comes.
    const proxy = await startDelayProxy(moto.endpoint, 1000, (req) => req.method === 'PUT' && (req.url ?? '').includes('partNumber='));
    const local = file('ctrl-c.safetensors', randomBytes(20 * MIB));
    const child = spawn(process.execPath, [
      path.join(__dirname, '..', '..', 'bin', 'comfyctl.js'), 'models', 'upload', local, '--type', 'checkpoints',
      '--bucket', BUCKET, '--part-size', '5', '--concurrency', '1', '--endpoint-url', proxy.endpoint, '--region', 'us-east-1',
      '--outputs', path.join(dir, 'absent.json'),
    ], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      // The first progress line comes when part 1 is stored: the multipart upload exists by then.
      if (stderr.includes('uploading checkpoints/ctrl-c.safetensors:') && !child.killed) child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    await proxy.close();
    expect(stderr).toContain('interrupted: cleaning up the partial upload');
    expect(stderr).toContain(`comfyctl: upload of checkpoints/ctrl-c.safetensors interrupted: nothing was written to s3://${BUCKET}`);
    expect(code).toBe(130);
    expect(stdout).toBe('');
    expect(uploadPartRequests('ctrl-c.safetensors', proxy)).toBeGreaterThan(0);
    expect(await pendingMultipartUploads()).toBe(0);
    expect(await objectBytes('checkpoints/ctrl-c.safetensors')).toBeUndefined();
  });
});

describe('models ls', () => {
  beforeAll(async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'vae/sdxl_vae.safetensors', Body: Buffer.alloc(2048) }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'stray.txt', Body: 'x' }));
  });

  test('lists the bucket by folder with human sizes and per-folder totals', async () => {
    const run = await runCaptured(['models', 'ls', '--bucket', BUCKET, ...aws]);
    expect(run.code, run.stderr).toBe(0);
    const text = run.stdout.replace(/\d{4}-\d\d-\d\d \d\d:\d\dZ/g, 'TIME');
    expect(text).toBe([
      'checkpoints/  1 file, 15 B',
      '        15 B  TIME  big.safetensors',
      'loras/  1 file, 4 B',
      '         4 B  TIME  sdxl/ink.safetensors',
      'vae/  1 file, 2.0 KiB',
      '     2.0 KiB  TIME  sdxl_vae.safetensors',
      '(outside the model layout, not synced)  1 file, 1 B',
      '         1 B  TIME  stray.txt',
      `4 files, 2.0 KiB in s3://${BUCKET}/`,
      '',
    ].join('\n'));
  });

  test('lists one folder as JSON for scripts', async () => {
    const run = await runCaptured(['models', 'ls', 'vae', '--json', '--bucket', BUCKET, ...aws]);
    expect(run.code, run.stderr).toBe(0);
    const json = JSON.parse(run.stdout);
    expect(json).toMatchObject({ bucket: BUCKET, prefix: 'vae/', totalBytes: 2048 });
    expect(json.folders).toEqual([
      { folder: 'vae', files: 1, totalBytes: 2048, objects: [{ key: 'vae/sdxl_vae.safetensors', size: 2048, lastModified: expect.any(String) }] },
    ]);
  });

  test('reads the bucket from the cdk outputs file when --bucket is not given', async () => {
    await s3.send(new PutObjectCommand({ Bucket: OUTPUTS_BUCKET, Key: 'upscale_models/4x.pth', Body: 'up' }));
    const outputs = path.join(__dirname, '..', 'fixtures', 'cdk-outputs.json');
    const run = await runCaptured(['models', 'ls', '--outputs', outputs, '--endpoint-url', moto.endpoint]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`1 file, 2 B in s3://${OUTPUTS_BUCKET}/`);
  });

  test('says so when a folder is empty', async () => {
    const run = await runCaptured(['models', 'ls', 'controlnet', '--bucket', BUCKET, ...aws]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`no models in s3://${BUCKET}/controlnet/`);
  });
});

describe('models rm', () => {
  test('deletes the keys and confirms each one', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'loras/a.safetensors', Body: 'a' }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'loras/b.safetensors', Body: 'bb' }));
    const run = await runCaptured(['models', 'rm', 'loras/a.safetensors', 'loras/b.safetensors', '--bucket', BUCKET, ...aws]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(`deleted s3://${BUCKET}/loras/a.safetensors (1 B)\ndeleted s3://${BUCKET}/loras/b.safetensors (2 B)\n`);
    expect(run.stderr).toContain('GPU nodes sync the change');
    expect(await objectBytes('loras/a.safetensors')).toBeUndefined();
    expect(await objectBytes('loras/b.safetensors')).toBeUndefined();
  });

  test('an unknown key is an error naming it, and the known keys are left in place', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'loras/keep.safetensors', Body: 'k' }));
    const run = await runCaptured(['models', 'rm', 'loras/keep.safetensors', 'loras/typo.safetensors', '--bucket', BUCKET, ...aws]);
    expect(run.code).toBe(EXIT.validation);
    expect(run.stderr).toContain(`not in s3://${BUCKET}: loras/typo.safetensors; nothing was deleted`);
    expect(run.stdout).toBe('');
    expect((await objectBytes('loras/keep.safetensors'))?.toString()).toBe('k');
  });

  test('refuses keys outside the model layout without deleting anything', async () => {
    const run = await runCaptured(['models', 'rm', 'loras/keep.safetensors', 'stray.txt', '--bucket', BUCKET, ...aws]);
    expect(run.code).toBe(EXIT.validation);
    expect(run.stderr).toContain("'stray.txt': not under a ComfyUI model folder");
    expect(await objectBytes('loras/keep.safetensors')).toBeDefined();
    expect(await objectBytes('stray.txt')).toBeDefined();
  });
});

test('HeadObject sees the uploaded size (sanity check of the emulator)', async () => {
  const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'vae/sdxl_vae.safetensors' }));
  expect(head.ContentLength).toBe(2048);
});
