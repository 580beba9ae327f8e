import { mkdtempSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { wakeAnswer } from '../../lambda/wake/wake-response';
import { DEFAULT_BENCH_WORKFLOW } from '../../lib/cli/bench-workflow-options';
import { EXIT } from '../../lib/cli/cli-error';
import { formatDuration, readWakeProbe } from '../../lib/cli/comfyui/wait-for-gpus';
import { runCaptured } from '../helpers/captured-comfyctl';
import { forwardRequest } from '../helpers/forward-request';
import { Simulator, startSimulator } from '../helpers/simulator';

/** The wake page's JSON answer as an API client gets it (lambda/wake), with the estimate comfyctl shows. */
const STARTING = wakeAnswer({ accept: 'application/json', path: '/system_stats' }, 6);

describe('reading the answer to the probe', () => {
  test("the wake page's 503 means starting, with its Retry-After and the estimate from its message", () => {
    expect(readWakeProbe(503, STARTING.headers['retry-after'], STARTING.body)).toEqual({ starting: true, retryAfterSeconds: 20, estimateMinutes: 6 });
  });

  test('any 503 with Retry-After seconds is waited on (no estimate); anything else means ComfyUI answers', () => {
    expect(readWakeProbe(503, '5', '<html>busy</html>')).toEqual({ starting: true, retryAfterSeconds: 5, estimateMinutes: undefined });
    expect(readWakeProbe(503, '3600', '')).toMatchObject({ starting: true, retryAfterSeconds: 60 });
    expect(readWakeProbe(503, null, STARTING.body).starting).toBe(false);
    expect(readWakeProbe(503, 'Wed, 21 Oct 2015 07:28:00 GMT', '').starting).toBe(false);
    expect(readWakeProbe(200, '20', '{}').starting).toBe(false);
    expect(readWakeProbe(502, '20', '').starting).toBe(false);
  });

  test('durations read as the progress line writes them', () => {
    expect([0, 45_900, 60_000, 80_000, 900_000].map(formatDuration)).toEqual(['0s', '45s', '1m00s', '1m20s', '15m00s']);
  });
});

/**
 * `comfyctl invoke` in front of a stub that answers the first `startingAnswers` GETs of /system_stats as the wake page
 * does (503, the gpus_starting JSON) but with Retry-After: 0, so the test waits for nothing, and forwards everything
 * else to the simulator.
 */
async function startWakingStub(upstream: string, startingAnswers: number): Promise<{ url: string; probes: number; posts: number; close(): Promise<void> }> {
  const stub = { url: '', probes: 0, posts: 0, close: async (): Promise<void> => undefined };
  const server = http.createServer((req, res) => {
    if (req.method === 'POST') stub.posts += 1;
    if (req.method === 'GET' && req.url === '/system_stats') {
      stub.probes += 1;
      if (stub.probes <= startingAnswers) {
        req.resume();
        res.writeHead(503, { ...STARTING.headers, 'retry-after': '0' }).end(STARTING.body);
        return;
      }
    }
    forwardRequest(req, res, new URL(upstream));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stub.close = () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
  return stub;
}

describe('comfyctl invoke while GPUs start from zero', () => {
  let sim: Simulator;
  const stubs: { close(): Promise<void> }[] = [];
  beforeAll(async () => { sim = await startSimulator({ gpus: 1, execMs: 50 }); }, 60_000);
  afterAll(async () => {
    await Promise.all(stubs.map((s) => s.close()));
    await sim?.stop();
  });

  test('waits while the server answers GPUs starting, printing progress, then queues the prompt and succeeds', async () => {
    const stub = await startWakingStub(sim.url, 2);
    stubs.push(stub);
    const out = mkdtempSync(path.join(os.tmpdir(), 'invoke-wake-'));
    const run = await runCaptured(['invoke', DEFAULT_BENCH_WORKFLOW, '--url', stub.url, '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    const progress = run.stderr.split('\n').filter((line) => line.includes('GPUs starting'));
    expect(progress).toHaveLength(2);
    for (const line of progress) expect(line).toMatch(/GPUs starting, waited \d+s, about 6 min/);
    expect(stub.probes).toBe(3);
    expect(stub.posts).toBe(1);
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
  });

  test('with ComfyUI up it asks once and says nothing about starting', async () => {
    const stub = await startWakingStub(sim.url, 0);
    stubs.push(stub);
    const run = await runCaptured(['invoke', DEFAULT_BENCH_WORKFLOW, '--url', stub.url, '--no-download']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).not.toContain('GPUs starting');
    expect(stub.probes).toBe(1);
  });

  test('gives up after --wake-timeout with an error naming what to do, and never posts', async () => {
    const stub = await startWakingStub(sim.url, Number.MAX_SAFE_INTEGER);
    stubs.push(stub);
    const run = await runCaptured(['invoke', DEFAULT_BENCH_WORKFLOW, '--url', stub.url, '--wake-timeout', '0.2', '--no-download']);
    expect(run.code).toBe(EXIT.timeout);
    expect(run.stderr).toContain('GPUs did not start within 0.2 s');
    expect(run.stderr).toContain('comfyctl doctor');
    expect(run.stderr).toContain('--wake-timeout');
    expect(stub.posts).toBe(0);
  });
});
