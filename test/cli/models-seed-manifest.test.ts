import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { CliError, EXIT } from '../../lib/cli/cli-error';
import { DownloadError, lengthCheck, sendsTokenTo } from '../../lib/cli/models/http-download';
import { DEFAULT_SEED_MANIFEST } from '../../lib/cli/models/seed-command';
import { fileNameOfUrl, parseSeedManifest } from '../../lib/cli/models/seed-manifest';

const HF = 'https://huggingface.co/org/repo/resolve/main';
const manifest = (models: unknown, extra: object = {}) => JSON.stringify({ models, ...extra });

function problems(text: string): string {
  try {
    parseSeedManifest(text, 'm.json');
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

  test('the shipped example seeds SDXL base 1.0 and refiner 1.0 from Hugging Face into checkpoints/', () => {
    expect(path.relative(process.cwd(), DEFAULT_SEED_MANIFEST)).toBe(path.join('examples', 'models-seed.json'));
    const entries = parseSeedManifest(readFileSync(DEFAULT_SEED_MANIFEST, 'utf8'), 'example');
    expect(entries.map((e) => [e.url, e.key])).toEqual([
      ['https://huggingface.co/stabilityai/stable-diffusion-xl-base-1.0/resolve/main/sd_xl_base_1.0.safetensors', 'checkpoints/sd_xl_base_1.0.safetensors'],
      ['https://huggingface.co/stabilityai/stable-diffusion-xl-refiner-1.0/resolve/main/sd_xl_refiner_1.0.safetensors', 'checkpoints/sd_xl_refiner_1.0.safetensors'],
    ]);
  });

  test('names the entry and its URL for a folder outside the layout, and lists the valid folders', () => {
    const message = problems(manifest([{ url: `${HF}/a.pt`, folder: 'checkpoint' }]));
    expect(message).toContain(`models[0] (${HF}/a.pt): 'folder' must be one of audio_encoders, checkpoints,`);
    expect(message).toContain('got "checkpoint"');
  });

  test.each([
    [{ url: 'not a url', folder: 'vae' }, "'url' is not a URL: 'not a url'"],
    [{ url: 'ftp://host/a.pt', folder: 'vae' }, "'url' must be http(s), got ftp:"],
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

  test('matches host:port exactly, so a loopback test server on another port gets nothing', () => {
    expect(sendsTokenTo(new URL('http://127.0.0.1:8080/x'), ['127.0.0.1:8080'])).toBe(true);
    expect(sendsTokenTo(new URL('http://127.0.0.1:8081/x'), ['127.0.0.1:8080'])).toBe(false);
  });
});

describe('lengthCheck', () => {
  const drain = (chunks: Buffer[], expected: number | undefined) =>
    new Promise<number>((resolve, reject) => {
      let n = 0;
      Readable.from(chunks).pipe(lengthCheck(expected, 'u'))
        .on('data', (c: Buffer) => { n += c.length; })
        .on('end', () => resolve(n))
        .on('error', reject);
    });

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
});
