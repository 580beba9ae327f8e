import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CliError, EXIT } from '../../lib/cli/cli-error';
import { downloadOutputs } from '../../lib/cli/jobs/download-outputs';
import { JobsApi } from '../../lib/cli/jobs/jobs-api';
import { FileServer, startFileServer } from '../helpers/file-server';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A loopback API stand-in that answers from a queue of canned answers and records every request. */
async function startCannedApi(): Promise<{ url: string; seen: Seen[]; answers: { status: number; body?: unknown; headers?: Record<string, string> }[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const answers: { status: number; body?: unknown; headers?: Record<string, string> }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) });
      const answer = answers.shift() ?? { status: 200, body: { ok: true } };
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    answers,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('JobsApi on loopback', () => {
  let api: Awaited<ReturnType<typeof startCannedApi>>;
  beforeAll(async () => { api = await startCannedApi(); });
  afterAll(async () => { await api.close(); });

  test('POST and PUT carry the hash of the exact bytes received, and every call the bearer token', async () => {
    const client = new JobsApi({ url: `${api.url}/`, token: 'alice.secret' });
    api.seen.length = 0;
    await client.call({ method: 'POST', path: 'jobs', body: { inputs: { prompt: 'crème brûlée ☕' } } });
    await client.call({ method: 'PUT', path: 'templates/t', body: { workflow: {} } });
    await client.call({ method: 'POST', path: 'jobs/x/cancel' });
    await client.call({ method: 'GET', path: 'jobs/x' });
    expect(api.seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'POST /render-api/v1/jobs', 'PUT /render-api/v1/templates/t', 'POST /render-api/v1/jobs/x/cancel', 'GET /render-api/v1/jobs/x',
    ]);
    for (const request of api.seen.slice(0, 3)) {
      expect(request.headers['x-amz-content-sha256']).toBe(sha256(request.body));
    }
    expect(api.seen[2].body.length).toBe(0);
    expect(api.seen.every((s) => s.headers.authorization === 'Bearer alice.secret')).toBe(true);
  });

  test('a repeatable call is tried again after 503 with Retry-After, and says so', async () => {
    const lines: string[] = [];
    const client = new JobsApi({ url: api.url, token: 't.x', log: (l) => lines.push(l) });
    api.seen.length = 0;
    api.answers.push({ status: 503, body: { error: { message: 'queue unavailable' } }, headers: { 'retry-after': '0' } });
    api.answers.push({ status: 202, body: { id: 'j1', status: 'pending' } });
    const answer = await client.call({ method: 'POST', path: 'jobs', body: { idempotency_key: 'k' }, repeatable: true });
    expect(answer).toEqual({ status: 202, body: { id: 'j1', status: 'pending' } });
    expect(api.seen).toHaveLength(2);
    expect(api.seen[0].body.equals(api.seen[1].body)).toBe(true);
    expect(lines[0]).toMatch(/POST \/render-api\/v1\/jobs: HTTP 503; trying again in 0 s/);
  });

  test('a publish is not repeated: its 503 is the error, with the advice to retry', async () => {
    const client = new JobsApi({ url: api.url, token: 't.x' });
    api.seen.length = 0;
    api.answers.push({ status: 503, body: { error: { message: 'busy' } }, headers: { 'retry-after': '9' } });
    const error = await client.call({ method: 'PUT', path: 'templates/t', body: {} }).catch((e) => e);
    expect(error).toBeInstanceOf(CliError);
    expect(error.message).toMatch(/answered 503 \(busy\).*Retry in 9 s/);
    expect(api.seen).toHaveLength(1);
  });

  test('401 says to check the token or make one with comfyctl users', async () => {
    api.answers.push({ status: 401, body: 'Unauthorized' });
    const error = await new JobsApi({ url: api.url, token: 'bad.token' }).call({ method: 'GET', path: 'jobs' }).catch((e) => e);
    expect(error.exitCode).toBe(EXIT.unauthorized);
    expect(error.message).toMatch(/token was refused.*comfyctl users rotate/);
  });
});

describe('downloading outputs from presigned URLs', () => {
  let files: FileServer;
  const png = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
  beforeAll(async () => {
    files = await startFileServer();
    files.route('/a.png', { body: png });
    files.route('/b.txt', { body: Buffer.from('hello') });
    files.route('/expired.png', { status: 403 });
    files.route('/short.png', { body: Buffer.from('abc') });
  });
  afterAll(async () => { await files.close(); });

  const options = (dir: string) => ({ outDir: dir, jobId: 'abcdef12-3456', quiet: true, log: () => undefined });

  test('streams every output into the folder with its byte count, sending no token', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'jobs-out-'));
    const saved = await downloadOutputs([
      { filename: 'a.png', size: png.length, url: `${files.url}/a.png?X-Amz-Signature=1` },
      { filename: 'sub/../b.txt', url: `${files.url}/b.txt` },
    ], options(out));
    expect(saved).toEqual([{ path: path.join(out, 'a.png'), bytes: png.length }, { path: path.join(out, 'b.txt'), bytes: 5 }]);
    expect(readFileSync(path.join(out, 'a.png')).equals(png)).toBe(true);
    expect(files.requests.every((r) => r.authorization === undefined)).toBe(true);
  });

  test('an existing file is kept: the new one gets the job id in its name', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'jobs-out-'));
    writeFileSync(path.join(dir, 'b.txt'), 'mine');
    const [file] = await downloadOutputs([{ filename: 'b.txt', url: `${files.url}/b.txt` }], options(dir));
    expect(file.path).toBe(path.join(dir, 'b-abcdef12.txt'));
    expect(readFileSync(path.join(dir, 'b.txt'), 'utf8')).toBe('mine');
  });

  test('an expired URL is replaced by a fresh one from the job', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'jobs-out-'));
    let refreshed = 0;
    const saved = await downloadOutputs([{ filename: 'b.txt', url: `${files.url}/expired.png` }], {
      ...options(dir), refresh: async () => { refreshed += 1; return [{ filename: 'b.txt', url: `${files.url}/b.txt` }]; },
    });
    expect(refreshed).toBe(1);
    expect(readFileSync(saved[0].path, 'utf8')).toBe('hello');
  });

  test('a body shorter than the listed size fails and leaves no file behind', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'jobs-out-'));
    const error = await downloadOutputs([{ filename: 'short.png', size: 10, url: `${files.url}/short.png` }], options(dir)).catch((e) => e);
    expect(error.message).toMatch(/download of short\.png failed: received 3 bytes, the job lists 10/);
    expect(readdirSync(dir)).toEqual([]);
    expect(existsSync(path.join(dir, 'short.png'))).toBe(false);
  });
});
