import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { EXIT } from '../../lib/cli/cli-error';
import { runCaptured } from '../helpers/captured-comfyctl';
import { FileServer, startFileServer } from '../helpers/file-server';
import { DelayProxy, startDelayProxy } from '../helpers/delay-proxy';
import { MotoServer, startMotoServer } from '../helpers/moto-server';

const MIB = 1024 * 1024;
const BUCKET = 'models-seed-test';
const good = randomBytes(6 * MIB + 7);
const gated = randomBytes(1000);
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
let moto: MotoServer;
/** The CLI's S3 calls go through it, so the tests can see which requests were made. */
let observer: DelayProxy;
let s3: S3Client;
let host: FileServer;
let cdn: FileServer;
let dir: string;

const url = (p: string) => `${host.url}${p}`;

function writeManifest(name: string, models: unknown[]): string {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify({ models }));
  return file;
}

async function keys(): Promise<string[]> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}

async function body(key: string): Promise<Buffer> {
  const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

beforeAll(async () => {
  moto = await startMotoServer();
  observer = await startDelayProxy(moto.endpoint, 0, () => false);
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1' });
  s3 = new S3Client({ region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'checkpoints/present.safetensors', Body: 'present model' }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'vae/presigned.safetensors', Body: 'vae' }));
  host = await startFileServer();
  cdn = await startFileServer();
  host.route('/org/good/resolve/main/good.safetensors', { body: good });
  host.route('/org/present/resolve/main/present.safetensors', { body: Buffer.from('present model') });
  // Like a presigned GET URL: every HEAD is refused.
  host.route('/presigned/presigned.safetensors', { status: 403 });
  host.route('/org/cut/resolve/main/cut.safetensors', { body: randomBytes(8 * MIB), cutAfter: 6 * MIB });
  host.route('/org/gated/resolve/main/gated.safetensors', { redirectTo: `${cdn.url}/signed/gated.safetensors?X-Signature=abc` });
  cdn.route('/signed/gated.safetensors', { body: gated });
  dir = mkdtempSync(path.join(os.tmpdir(), 'models-seed-'));
});

afterAll(async () => {
  await Promise.all([observer?.close(), host?.close(), cdn?.close()]);
  await moto?.stop();
});

describe('models seed', () => {
  let run: Awaited<ReturnType<typeof runCaptured>>;

  beforeAll(async () => {
    const manifest = writeManifest('seed.json', [
      { url: url('/org/good/resolve/main/good.safetensors'), folder: 'checkpoints' },
      { url: url('/org/missing/resolve/main/missing.safetensors'), folder: 'checkpoints' },
      { url: url('/org/present/resolve/main/present.safetensors'), folder: 'checkpoints' },
      { url: url('/org/cut/resolve/main/cut.safetensors'), folder: 'checkpoints' },
      { url: url('/org/gated/resolve/main/gated.safetensors'), folder: 'loras', subfolder: 'sdxl' },
      { url: url('/presigned/presigned.safetensors'), folder: 'vae' },
    ]);
    process.env.HF_TOKEN = 'hf_secret';
    try {
      run = await runCaptured(['models', 'seed', manifest, '--bucket', BUCKET, '--part-size', '5', '--token-host', new URL(host.url).host,
        '--endpoint-url', observer.endpoint, '--region', 'us-east-1', '--outputs', path.join(dir, 'absent.json')]);
    } finally {
      delete process.env.HF_TOKEN;
    }
  });

  test('reports each entry as it goes, then a summary, and exits non-zero because some failed', () => {
    const at = (key: string) => `s3://${BUCKET}/${key}`;
    expect(run.stdout.split('\n')).toEqual([
      `uploaded ${at('checkpoints/good.safetensors')} (6.0 MiB, unchecked sha256 ${sha256(good)})`,
      `failed ${at('checkpoints/missing.safetensors')}: HTTP 404 Not Found from ${url('/org/missing/resolve/main/missing.safetensors')}`,
      `skipped ${at('checkpoints/present.safetensors')}: already in the bucket with the same size`,
      expect.stringMatching(new RegExp(`^failed ${at('checkpoints/cut.safetensors')}: download of .*cut.safetensors broke off`)),
      `uploaded ${at('loras/sdxl/gated.safetensors')} (1000 B, unchecked sha256 ${sha256(gated)})`,
      `skipped ${at('vae/presigned.safetensors')}: already in the bucket; the source does not report a size to compare (--force replaces it)`,
      'seed: 2 uploaded, 2 skipped, 2 failed',
      '',
    ]);
    expect(run.code).toBe(EXIT.failure);
    expect(run.stderr).toContain('comfyctl: 2 of 6 models failed (checkpoints/missing.safetensors, checkpoints/cut.safetensors)');
  });

  test('puts exactly the good downloads into the bucket, byte for byte', async () => {
    expect(await keys()).toEqual([
      'checkpoints/good.safetensors', 'checkpoints/present.safetensors', 'loras/sdxl/gated.safetensors', 'vae/presigned.safetensors',
    ]);
    expect((await body('checkpoints/good.safetensors')).equals(good)).toBe(true);
    expect((await body('loras/sdxl/gated.safetensors')).equals(gated)).toBe(true);
  });

  test('streams a large download as a multipart upload and shows progress per file', () => {
    const parts = observer.requests.filter((r) => r.method === 'PUT' && r.url.includes('good.safetensors') && r.url.includes('partNumber='));
    expect(parts).toHaveLength(2);
    expect(run.stderr).toMatch(/seeding checkpoints\/good\.safetensors: 100% 6\.0 MiB\/6\.0 MiB/);
  });

  test('leaves no partial object and no pending multipart upload for the failed downloads', async () => {
    const pending = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
    expect(pending.Uploads ?? []).toEqual([]);
    // The cut download got far enough to start a multipart upload, which was then aborted.
    const started = observer.requests.filter((r) => r.method === 'POST' && r.url.includes('cut.safetensors') && r.url.includes('uploads'));
    expect(started.length).toBeGreaterThan(0);
  });

  test('checks the size of a present object with HEAD and never downloads it', () => {
    const present = host.requests.filter((r) => r.path.endsWith('present.safetensors'));
    expect(present.map((r) => r.method)).toEqual(['HEAD']);
  });

  test('sends the token to the download host only, not to the CDN it redirects to', () => {
    const toHost = host.requests.filter((r) => r.path.endsWith('gated.safetensors'));
    const toCdn = cdn.requests.filter((r) => r.path.endsWith('gated.safetensors'));
    expect(toHost.map((r) => r.authorization)).toEqual(['Bearer hf_secret']);
    expect(toCdn.map((r) => r.authorization)).toEqual([undefined]);
  });

  test('a rerun skips what is there and retries only what failed', async () => {
    const manifest = writeManifest('rerun.json', [
      { url: url('/org/good/resolve/main/good.safetensors'), folder: 'checkpoints' },
      { url: url('/org/missing/resolve/main/missing.safetensors'), folder: 'checkpoints' },
    ]);
    const again = await runCaptured(['models', 'seed', manifest, '--bucket', BUCKET, '--quiet', '--endpoint-url', moto.endpoint, '--region', 'us-east-1']);
    expect(again.stdout).toContain(`skipped s3://${BUCKET}/checkpoints/good.safetensors: already in the bucket with the same size`);
    expect(again.stdout).toContain('seed: 0 uploaded, 1 skipped, 1 failed');
    expect(again.code).toBe(EXIT.failure);
  });

  test('refuses an invalid manifest before downloading anything, naming the entry', async () => {
    const before = host.requests.length;
    const manifest = writeManifest('bad.json', [
      { url: url('/org/good/resolve/main/good.safetensors'), folder: 'checkpoint' },
      { url: url('/a/x.pt'), folder: 'vae' },
      { url: url('/b/x.pt'), folder: 'vae' },
    ]);
    const bad = await runCaptured(['models', 'seed', manifest, '--bucket', BUCKET, '--endpoint-url', moto.endpoint, '--region', 'us-east-1']);
    expect(bad.code).toBe(EXIT.validation);
    expect(bad.stderr).toContain(`models[0] (${url('/org/good/resolve/main/good.safetensors')}): 'folder' must be one of`);
    expect(bad.stderr).toContain('models[2] and models[1] both write vae/x.pt');
    expect(host.requests.length).toBe(before);
  });

  test('names a missing manifest file', async () => {
    const missing = await runCaptured(['models', 'seed', path.join(dir, 'nope.json'), '--bucket', BUCKET]);
    expect(missing.code).toBe(EXIT.usage);
    expect(missing.stderr).toContain(`manifest '${path.join(dir, 'nope.json')}' not found`);
  });
});

describe('models seed with sha256', () => {
  const verified = randomBytes(3000);
  const big = randomBytes(6 * MIB + 7);
  const small = randomBytes(2000);
  const WRONG = 'ab'.repeat(32);
  const at = (key: string) => `s3://${BUCKET}/${key}`;
  const seed = (manifest: string, ...extra: string[]) =>
    runCaptured(['models', 'seed', manifest, '--bucket', BUCKET, '--part-size', '5', '--quiet', ...extra,
      '--endpoint-url', observer.endpoint, '--region', 'us-east-1', '--outputs', path.join(dir, 'absent.json')]);
  const head = (key: string) => s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: 'ENABLED' }));
  const hostRequests = (file: string) => host.requests.filter((r) => r.path.endsWith(file)).map((r) => r.method);
  let run: Awaited<ReturnType<typeof runCaptured>>;

  beforeAll(async () => {
    host.route('/sha/verified.safetensors', { body: verified });
    host.route('/sha/big.safetensors', { body: big });
    host.route('/sha/small.safetensors', { body: small });
    run = await seed(writeManifest('sha.json', [
      { url: url('/sha/verified.safetensors'), folder: 'vae', sha256: sha256(verified).toUpperCase() },
      { url: url('/sha/big.safetensors'), folder: 'vae', sha256: WRONG },
      { url: url('/sha/small.safetensors'), folder: 'vae', sha256: WRONG },
    ]));
  });

  test('uploads a download that matches, and reports each mismatch as failed naming both digests', () => {
    expect(run.stdout.split('\n')).toEqual([
      `uploaded ${at('vae/verified.safetensors')} (2.9 KiB, sha256 verified)`,
      `failed ${at('vae/big.safetensors')}: sha256 mismatch for ${url('/sha/big.safetensors')}: ` +
        `the manifest expects ${WRONG}, the download is ${sha256(big)}; nothing was written ` +
        "(check the URL, or update 'sha256' if the model changed on purpose)",
      `failed ${at('vae/small.safetensors')}: sha256 mismatch for ${url('/sha/small.safetensors')}: ` +
        `the manifest expects ${WRONG}, the download is ${sha256(small)}; nothing was written ` +
        "(check the URL, or update 'sha256' if the model changed on purpose)",
      'seed: 1 uploaded, 0 skipped, 2 failed',
      '',
    ]);
    expect(run.code).toBe(EXIT.failure);
  });

  test('leaves no object and no pending multipart upload for a mismatch, whether it took one part or several', async () => {
    expect(await keys()).not.toContain('vae/big.safetensors');
    expect(await keys()).not.toContain('vae/small.safetensors');
    expect((await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))).Uploads ?? []).toEqual([]);
    // The large one got as far as a multipart upload (aborted); the small one never reached a PutObject.
    const started = observer.requests.filter((r) => r.method === 'POST' && r.url.includes('big.safetensors') && r.url.includes('uploads'));
    expect(started.length).toBeGreaterThan(0);
    expect(observer.requests.filter((r) => r.method === 'PUT' && r.url.includes('small.safetensors'))).toEqual([]);
  });

  test('records the verified sha256 on the object, which S3 also checked with its own SHA-256 checksum', async () => {
    const object = await head('vae/verified.safetensors');
    expect(object.Metadata).toEqual({ sha256: sha256(verified) });
    expect(object.ChecksumSHA256).toBe(createHash('sha256').update(verified).digest('base64'));
  });

  test('a rerun skips an object whose recorded sha256 matches without asking the source anything', async () => {
    const before = hostRequests('verified.safetensors').length;
    const again = await seed(writeManifest('sha-again.json', [
      { url: url('/sha/verified.safetensors'), folder: 'vae', sha256: sha256(verified) },
    ]));
    expect(again.stdout).toContain(`skipped ${at('vae/verified.safetensors')}: already in the bucket with the same sha256`);
    expect(again.code).toBe(0);
    expect(hostRequests('verified.safetensors')).toHaveLength(before);
  });

  test('refuses to replace an object whose recorded sha256 differs, naming both, unless --force', async () => {
    const other = 'cd'.repeat(32);
    const refused = await seed(writeManifest('sha-other.json', [{ url: url('/sha/verified.safetensors'), folder: 'vae', sha256: other }]));
    expect(refused.stdout).toContain(
      `failed ${at('vae/verified.safetensors')}: the bucket already holds a different object there (sha256 ${sha256(verified)}, the manifest's is ${other})`,
    );
    expect((await head('vae/verified.safetensors')).Metadata).toEqual({ sha256: sha256(verified) });
  });

  test('downloads again, verifies and records an object of the same size that has no recorded sha256', async () => {
    const model = randomBytes(1500);
    host.route('/sha/unrecorded.safetensors', { body: model });
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'vae/unrecorded.safetensors', Body: model }));
    const again = await seed(writeManifest('sha-unrecorded.json', [
      { url: url('/sha/unrecorded.safetensors'), folder: 'vae', sha256: sha256(model) },
    ]));
    expect(again.stdout).toContain(`uploaded ${at('vae/unrecorded.safetensors')} (1.5 KiB, sha256 verified)`);
    expect(hostRequests('unrecorded.safetensors')).toEqual(['HEAD', 'GET']);
    expect((await head('vae/unrecorded.safetensors')).Metadata).toEqual({ sha256: sha256(model) });
  });

  test('--require-sha256 refuses a manifest with an entry lacking one before downloading anything', async () => {
    const before = host.requests.length;
    const refused = await seed(writeManifest('sha-required.json', [
      { url: url('/sha/verified.safetensors'), folder: 'vae', sha256: sha256(verified) },
      { url: url('/org/good/resolve/main/good.safetensors'), folder: 'checkpoints' },
    ]), '--require-sha256');
    expect(refused.code).toBe(EXIT.validation);
    expect(refused.stderr).toContain(`models[1] (${url('/org/good/resolve/main/good.safetensors')}): has no 'sha256' and --require-sha256 is set`);
    expect(host.requests.length).toBe(before);
  });
});

describe('models seed and keys a node could not place', () => {
  test('fails an entry whose key needs a folder where the bucket holds a file, and downloads nothing for it', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'loras/style', Body: 'a file named like a folder' }));
    const run = await runCaptured(['models', 'seed', writeManifest('clash.json', [
      { url: url('/org/good/resolve/main/good.safetensors'), folder: 'loras', subfolder: 'style' },
    ]), '--bucket', BUCKET, '--quiet', '--endpoint-url', moto.endpoint, '--region', 'us-east-1']);
    expect(run.code).not.toBe(0);
    expect(run.stdout).toMatch(/failed s3:\/\/models-seed-test\/loras\/style\/good\.safetensors: .*loras\/style/);
    expect(run.stdout).not.toContain('upload failed: CliError');
    expect(await keys()).not.toContain('loras/style/good.safetensors');
  });
});

describe('models seed over plain http', () => {
  test('refuses a plain http URL to another host before downloading anything, naming the entry and the fix', async () => {
    // 127.0.0.2 is loopback too, so nothing would leave the machine, but only 127.0.0.1 and localhost are exempt.
    const plain = 'http://127.0.0.2:9/org/a/resolve/main/a.safetensors';
    const refused = await runCaptured(['models', 'seed', writeManifest('plain.json', [{ url: plain, folder: 'vae' }]),
      '--bucket', BUCKET, '--endpoint-url', moto.endpoint, '--region', 'us-east-1']);
    expect(refused.code).toBe(EXIT.validation);
    expect(refused.stderr).toContain(`models[0] (${plain}): 'url' must be https`);
    expect(refused.stderr).toContain('use its https:// address');
  });

  test('fails an entry whose download redirects to plain http, naming only the host', async () => {
    const cdnPort = new URL(cdn.url).port;
    host.route('/org/downgrade/resolve/main/downgrade.safetensors', { redirectTo: `http://127.0.0.2:${cdnPort}/signed/gated.safetensors?X-Signature=abc` });
    const run = await runCaptured(['models', 'seed', writeManifest('downgrade.json', [
      { url: url('/org/downgrade/resolve/main/downgrade.safetensors'), folder: 'vae' },
    ]), '--bucket', BUCKET, '--quiet', '--endpoint-url', moto.endpoint, '--region', 'us-east-1']);
    expect(run.stdout).toContain(
      `failed s3://${BUCKET}/vae/downgrade.safetensors: ${url('/org/downgrade/resolve/main/downgrade.safetensors')} ` +
        `redirects to plain http://127.0.0.2:${cdnPort}: refusing a download that could be swapped on the way`,
    );
    expect(run.stdout).not.toContain('X-Signature');
    expect(await keys()).not.toContain('vae/downgrade.safetensors');
  });
});
