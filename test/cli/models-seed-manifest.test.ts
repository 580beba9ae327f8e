import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { CliError, EXIT } from '../../lib/cli/cli-error';
import { createHash } from 'node:crypto';
import { isSecureDownloadUrl } from '../../lib/cli/models/download-url';
import { BodyCheck, ChecksumMismatchError, DownloadError, ExpectedBody, sendsTokenTo } from '../../lib/cli/models/http-download';
import { DEFAULT_SEED_MANIFEST } from '../../lib/cli/models/seed-command';
import { fileNameOfUrl, parseSeedManifest, SeedManifestOptions } from '../../lib/cli/models/seed-manifest';
import { decideBySha256 } from '../../lib/cli/models/upload-plan';

const HF = 'https://huggingface.co/org/repo/resolve/main';
const manifest = (models: unknown, extra: object = {}) => JSON.stringify({ models, ...extra });

const SHA = 'ab'.repeat(32);

function problems(text: string, options: SeedManifestOptions = {}): string {
  try {
    parseSeedManifest(text, 'm.json', options);
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(EXIT.validation);
    return (error as CliError).message;
  }
  throw new Error('expected the manifest to be refused');
}

describe('parseSeedManifest', () => {
  test('reads entries with the key from folder, subfolder and the URL file name', () => {
    const entries = parseSeedManifest(manifest([
      { url: `${HF}/a.safetensors`, folder: 'checkpoints' },
      { url: `${HF}/b%20v2.safetensors?download=true`, folder: 'loras', subfolder: 'sdxl/' },
      { url: `${HF}/c.bin`, folder: 'vae', name: 'sdxl-vae.safetensors' },
    ]), 'm.json');
    expect(entries.map((e) => e.key)).toEqual(['checkpoints/a.safetensors', 'loras/sdxl/b v2.safetensors', 'vae/sdxl-vae.safetensors']);
    expect(entries[1]).toMatchObject({ index: 1, folder: 'loras', url: `${HF}/b%20v2.safetensors?download=true` });
  });

  test('the shipped example seeds SDXL base 1.0 and refiner 1.0 from Hugging Face into checkpoints/, pinned by sha256', () => {
    expect(path.relative(process.cwd(), DEFAULT_SEED_MANIFEST)).toBe(path.join('examples', 'models-seed.json'));
    const entries = parseSeedManifest(readFileSync(DEFAULT_SEED_MANIFEST, 'utf8'), 'example', { requireSha256: true });
    // The digests Hugging Face lists for these files (their LFS object ids).
    expect(entries.map((e) => [e.url, e.key, e.sha256])).toEqual([
      ['https://huggingface.co/stabilityai/stable-diffusion-xl-base-1.0/resolve/main/sd_xl_base_1.0.safetensors', 'checkpoints/sd_xl_base_1.0.safetensors',
        '31e35c80fc4829d14f90153f4c74cd59c90b779f6afe05a74cd6120b893f7e5b'],
      ['https://huggingface.co/stabilityai/stable-diffusion-xl-refiner-1.0/resolve/main/sd_xl_refiner_1.0.safetensors', 'checkpoints/sd_xl_refiner_1.0.safetensors',
        '7440042bbdc8a24813002c09b6b69b64dc90fded4472613437b7f55f9b7d9c5f'],
    ]);
  });

  test('refuses a plain http URL, naming the entry and the fix', () => {
    const message = problems(manifest([{ url: 'http://huggingface.co/org/repo/resolve/main/a.pt', folder: 'vae' }]));
    expect(message).toContain("models[0] (http://huggingface.co/org/repo/resolve/main/a.pt): 'url' must be https");
    expect(message).toContain('use its https:// address');
  });

  test('accepts plain http to this machine only, for local servers', () => {
    const entries = parseSeedManifest(manifest([
      { url: 'http://127.0.0.1:8080/a.pt', folder: 'vae' },
      { url: 'http://localhost:8080/b.pt', folder: 'vae' },
    ]), 'm.json');
    expect(entries).toHaveLength(2);
    expect(problems(manifest([{ url: 'http://127.0.0.2:8080/a.pt', folder: 'vae' }]))).toContain("'url' must be https");
  });

  test('reads a sha256 in either case and keeps it lower-case', () => {
    const [entry] = parseSeedManifest(manifest([{ url: `${HF}/a.pt`, folder: 'vae', sha256: SHA.toUpperCase() }]), 'm.json');
    expect(entry.sha256).toBe(SHA);
    const [none] = parseSeedManifest(manifest([{ url: `${HF}/a.pt`, folder: 'vae' }]), 'm.json');
    expect(none).not.toHaveProperty('sha256');
  });

  test('with requireSha256, refuses every entry without one, naming each and how to get it', () => {
    const message = problems(manifest([
      { url: `${HF}/a.pt`, folder: 'vae' },
      { url: `${HF}/b.pt`, folder: 'vae', sha256: SHA },
      { url: `${HF}/c.pt`, folder: 'vae' },
    ]), { requireSha256: true });
    expect(message).toContain('m.json has 2 problems');
    expect(message).toContain(`models[0] (${HF}/a.pt): has no 'sha256' and --require-sha256 is set: add "sha256": "<64 hex digits>"`);
    expect(message).toContain(`models[2] (${HF}/c.pt): has no 'sha256'`);
  });

  test('names the entry and its URL for a folder outside the layout, and lists the valid folders', () => {
    const message = problems(manifest([{ url: `${HF}/a.pt`, folder: 'checkpoint' }]));
    expect(message).toContain(`models[0] (${HF}/a.pt): 'folder' must be one of audio_encoders, checkpoints,`);
    expect(message).toContain('got "checkpoint"');
  });

  test.each([
    [{ url: 'not a url', folder: 'vae' }, "'url' is not a URL: 'not a url'"],
    [{ url: 'ftp://host/a.pt', folder: 'vae' }, "'url' must be https, got ftp:"],
    [{ url: `${HF}/a.pt`, folder: 'vae', sha256: 'abc' }, `'sha256' must be the file's SHA-256 as 64 hex digits (as sha256sum prints it), got "abc"`],
    [{ url: `${HF}/a.pt`, folder: 'vae', sha256: `sha256:${SHA}` }, "'sha256' must be the file's SHA-256 as 64 hex digits"],
    [{ url: `${HF}/a.pt`, folder: 'vae', sha256: 42 }, "'sha256' must be the file's SHA-256"],
    [{ folder: 'vae' }, "needs a 'url' string"],
    [{ url: 'https://huggingface.co/org/repo/blob/main/a.safetensors', folder: 'vae' }, 'use the download URL with /resolve/'],
    [{ url: 'https://host/dir/', folder: 'vae' }, 'add "name"'],
    [{ url: `${HF}/a.pt`, folder: 'vae', subfolder: '..' }, "the key 'vae/../a.pt'"],
    [{ url: `${HF}/a.pt`, folder: 'vae', fodler: 'x' }, "unknown field 'fodler'"],
    [{ url: `${HF}/a.pt`, folder: 'vae', name: 3 }, "'name' must be a string"],
    ['https://host/a.pt', 'must be an object'],
  ])('refuses a bad entry with a message naming it: %j', (entry, expected) => {
    const message = problems(manifest([entry]));
    expect(message).toContain('models[0]');
    expect(message).toContain(expected);
  });

  test('refuses two entries that write the same key and names both', () => {
    const message = problems(manifest([
      { url: `${HF}/a.pt`, folder: 'vae' },
      { url: 'https://other/x/a.pt', folder: 'loras' },
      { url: 'https://mirror/a.pt', folder: 'vae' },
    ]));
    expect(message).toContain('models[2] and models[0] both write vae/a.pt');
    expect(message).not.toContain('models[1]');
  });

  test('lists every problem at once', () => {
    const message = problems(manifest([{ url: 'x', folder: 'vae' }, { url: `${HF}/a.pt`, folder: 'nope' }]));
    expect(message).toContain('m.json has 2 problems');
  });

  test.each([
    ['{', 'm.json is not JSON'],
    ['[]', 'must be an object with a "models" list'],
    ['{"model": []}', 'must be an object with a "models" list'],
    [manifest([]), '"models" is empty'],
    [manifest([{ url: `${HF}/a.pt`, folder: 'vae' }], { extra: 1 }), "unknown top-level field 'extra'"],
  ])('refuses a malformed document %s', (text, expected) => {
    expect(problems(text)).toContain(expected);
  });
});

describe('fileNameOfUrl', () => {
  test('decodes the last path segment and ignores the query', () => {
    expect(fileNameOfUrl(new URL('https://h/a/b%C3%A9.pt?x=1'))).toBe('bé.pt');
  });
});

describe('sendsTokenTo', () => {
  const hosts = ['huggingface.co'];

  test('sends the token over https to the exact host', () => {
    expect(sendsTokenTo(new URL('https://huggingface.co/x'), hosts)).toBe(true);
    expect(sendsTokenTo(new URL('https://HuggingFace.co./x'), hosts)).toBe(true);
  });

  test("keeps the token from the host's subdomains, Hugging Face's CDNs among them", () => {
    expect(sendsTokenTo(new URL('https://cdn-lfs.huggingface.co/repos/x'), hosts)).toBe(false);
    expect(sendsTokenTo(new URL('https://cdn-lfs-us-1.huggingface.co/x'), hosts)).toBe(false);
    expect(sendsTokenTo(new URL('https://cdn.huggingface.co/x'), hosts)).toBe(false);
  });

  test('keeps the token from CDNs, look-alike hosts and plain http', () => {
    expect(sendsTokenTo(new URL('https://cas-bridge.xethub.hf.co/x'), hosts)).toBe(false);
    expect(sendsTokenTo(new URL('https://evilhuggingface.co/x'), hosts)).toBe(false);
    expect(sendsTokenTo(new URL('http://huggingface.co/x'), hosts)).toBe(false);
  });

  test('keeps the token from plain http to any host but this machine', () => {
    expect(sendsTokenTo(new URL('http://127.0.0.2:8080/x'), ['127.0.0.2:8080'])).toBe(false);
    expect(sendsTokenTo(new URL('http://[::1]:8080/x'), ['[::1]:8080'])).toBe(true);
  });

  test('matches host:port exactly, so a loopback test server on another port gets nothing', () => {
    expect(sendsTokenTo(new URL('http://127.0.0.1:8080/x'), ['127.0.0.1:8080'])).toBe(true);
    expect(sendsTokenTo(new URL('http://127.0.0.1:8081/x'), ['127.0.0.1:8080'])).toBe(false);
  });
});

describe('isSecureDownloadUrl', () => {
  test.each([
    ['https://huggingface.co/x', true],
    ['http://127.0.0.1:9/x', true],
    ['http://localhost/x', true],
    ['http://[::1]:9/x', true],
    ['http://huggingface.co/x', false],
    ['http://127.0.0.2/x', false],
    ['http://localhost.example.com/x', false],
    ['ftp://127.0.0.1/x', false],
  ])('%s: %s', (url, secure) => {
    expect(isSecureDownloadUrl(new URL(url))).toBe(secure);
  });
});

describe('decideBySha256', () => {
  test('skips an object whose recorded sha256 is the manifest\'s', () => {
    expect(decideBySha256(SHA, SHA, 10, false)).toEqual({ action: 'skip', reason: 'already in the bucket with the same sha256' });
  });

  test('refuses an object with another recorded sha256, naming both and --force', () => {
    const decision = decideBySha256(SHA, 'cd'.repeat(32), 10, false);
    expect(decision.action).toBe('refuse');
    expect(decision.action === 'refuse' && decision.reason).toContain(`sha256 ${'cd'.repeat(32)}, the manifest's is ${SHA}`);
    expect(decision.action === 'refuse' && decision.reason).toContain('--force');
  });

  test('replaces with force, even the same file', () => {
    expect(decideBySha256(SHA, SHA, 10, true)).toEqual({ action: 'replace', existingSize: 10 });
  });
});

describe('BodyCheck', () => {
  const check = (chunks: Buffer[], expected: ExpectedBody) =>
    new Promise<{ n: number; sha256?: string }>((resolve, reject) => {
      let n = 0;
      const body = new BodyCheck(expected, 'u');
      Readable.from(chunks).pipe(body)
        .on('data', (c: Buffer) => { n += c.length; })
        .on('end', () => resolve({ n, sha256: body.sha256 }))
        .on('error', reject);
    });
  const drain = async (chunks: Buffer[], size: number | undefined) => (await check(chunks, { size })).n;
  const hex = (data: Buffer) => createHash('sha256').update(data).digest('hex');

  test('passes a body of the announced length through', async () => {
    await expect(drain([Buffer.alloc(3), Buffer.alloc(4)], 7)).resolves.toBe(7);
  });

  test('fails a body that ends short', async () => {
    await expect(drain([Buffer.alloc(3)], 7)).rejects.toThrow(new DownloadError('u ended after 3 of 7 bytes'));
  });

  test('fails a body that runs past the announced length', async () => {
    await expect(drain([Buffer.alloc(8)], 7)).rejects.toThrow('more than the 7 bytes');
  });

  test('accepts any length when none was announced', async () => {
    await expect(drain([Buffer.alloc(5)], undefined)).resolves.toBe(5);
  });

  test('hashes the whole body and passes it on when the sha256 matches', async () => {
    const data = Buffer.from('model bytes');
    await expect(check([data.subarray(0, 4), data.subarray(4)], { size: data.length, sha256: hex(data) }))
      .resolves.toEqual({ n: data.length, sha256: hex(data) });
  });

  test('reports the digest of a body no sha256 was expected for', async () => {
    await expect(check([Buffer.from('abc')], {})).resolves.toEqual({ n: 3, sha256: hex(Buffer.from('abc')) });
  });

  test('fails a body whose sha256 differs instead of ending it, naming the expected and actual digests', async () => {
    const failure = check([Buffer.from('swapped')], { sha256: SHA });
    await expect(failure).rejects.toBeInstanceOf(ChecksumMismatchError);
    await expect(failure).rejects.toThrow(`sha256 mismatch for u: the manifest expects ${SHA}, the download is ${hex(Buffer.from('swapped'))}`);
  });
});
