import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createWakeDeps } from '../../lambda/wake/deps';
import { WAKE_ENV } from '../../lambda/wake/settings';
import { handleWakeEvent } from '../../lambda/wake/wake';
import { DEFAULT_BENCH_WORKFLOW } from '../../lib/cli/bench-workflow-options';
import { invokeWorkflow } from '../../lib/cli/comfyui/invoke-workflow';
import { issueCredential, userKey } from '../../lib/edge/credentials';
import { emulatorClientConfig } from '../helpers/jobs-backend';
import { MotoServer, startMotoServer } from '../helpers/moto-server';
import { Simulator, startSimulator } from '../helpers/simulator';
import { AlbStandIn, startAlbStandIn, startWakeEdge, WakeEdge } from '../helpers/wake-edge';

/**
 * Waking from zero on loopback (docs/scaling-design.md section 4), every part real code but CloudFront and the ALB:
 * client -> the edge stand-in running lib/edge/viewer-auth.js as deployed with autoscaling (node:vm), honouring the
 * origin group it asks for -> the ALB stand-in (503 while no pod is registered) -> the wake handler -> the wake queue in
 * moto; then the pod (the multi-GPU simulator) registers and the same requests reach it.
 */
const alice = issueCredential('alice', new Date('2026-01-05T09:00:00Z'));
const BEARER = { authorization: `Bearer ${alice.token}` };
const INDEX = '<!doctype html><title>ComfyUI</title>';
const COLD_START_MINUTES = 6;

let moto: MotoServer;
let sqs: SQSClient;
let queueUrl: string;
let sim: Simulator;
let alb: AlbStandIn;
let edge: WakeEdge;

async function visits(): Promise<any[]> {
  const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 30 }));
  return (out.Messages ?? []).map((m) => JSON.parse(m.Body!));
}

beforeAll(async () => {
  [moto, sim] = await Promise.all([startMotoServer(), startSimulator({ gpus: 1, execMs: 50 })]);
  sqs = new SQSClient(emulatorClientConfig(moto.endpoint));
  queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'comfyui-wake', Attributes: { MessageRetentionPeriod: '60' } }))).QueueUrl!;
  const deps = createWakeDeps(
    { [WAKE_ENV.queueUrl]: queueUrl, [WAKE_ENV.coldStartMinutes]: String(COLD_START_MINUTES) },
    emulatorClientConfig(moto.endpoint),
  );
  alb = await startAlbStandIn(sim.url, INDEX);
  edge = await startWakeEdge({
    alb: alb.url,
    wake: (event) => handleWakeEvent(event, deps),
    store: { values: { [userKey('alice')]: alice.storedValue }, broken: false },
  });
}, 120_000);

afterAll(async () => {
  await edge?.close();
  await alb?.close();
  await sim?.stop();
  await moto?.stop();
});

describe('a browser opening the URL while no pod is ready', () => {
  test('gets the wake page (503, Retry-After, no-store, refreshing) and its visit lands in the wake queue; once the ALB answers, the same GET is ComfyUI', async () => {
    alb.down = true;
    const open = () => fetch(`${edge.url}/`, { headers: { ...BEARER, accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    const starting = await open();
    expect(starting.status).toBe(503);
    expect(starting.headers.get('retry-after')).toBe('20');
    expect(starting.headers.get('cache-control')).toBe('no-store');
    const page = await starting.text();
    expect(page).toContain(`usually about ${COLD_START_MINUTES} minutes`);
    expect(page).toContain('<meta http-equiv="refresh" content="15">');
    const [visit, ...more] = await visits();
    expect(more).toEqual([]);
    expect(visit).toMatchObject({ user: 'alice', path: '/' });
    expect(typeof visit.t).toBe('number');

    alb.down = false;
    const ready = await open();
    expect(ready.status).toBe(200);
    expect(await ready.text()).toBe(INDEX);
    expect(await visits()).toEqual([]);
    expect(edge.served.slice(-2).map((s) => s.origin)).toEqual(['wake', 'alb']);
  });

  test('without a credential it gets the 401 challenge, never the page, and counts no visit', async () => {
    alb.down = true;
    const refused = await fetch(`${edge.url}/`, { headers: { accept: 'text/html' } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain('Basic');
    expect(await visits()).toEqual([]);
  });

  test("a POST does not fail over: it gets the ALB's own 503 and counts no visit", async () => {
    alb.down = true;
    const posted = await fetch(`${edge.url}/prompt`, { method: 'POST', headers: { ...BEARER, 'content-type': 'application/json' }, body: '{}' });
    expect(posted.status).toBe(503);
    expect(await posted.text()).toContain('503 Service Temporarily Unavailable');
    expect(edge.served.at(-1)).toMatchObject({ method: 'POST', origin: 'alb', status: 503 });
    expect(await visits()).toEqual([]);
  });

  test('an API client gets the gpus_starting JSON', async () => {
    alb.down = true;
    const answer = await fetch(`${edge.url}/system_stats`, { headers: { ...BEARER, accept: 'application/json' } });
    expect(answer.status).toBe(503);
    expect(answer.headers.get('retry-after')).toBe('20');
    expect(((await answer.json()) as { error: unknown }).error).toMatchObject({ type: 'gpus_starting', retry_after_seconds: 20 });
    expect(await visits()).toEqual([expect.objectContaining({ user: 'alice', path: '/system_stats' })]);
  });
});

describe('comfyctl invoke through the edge while GPUs start', () => {
  test('waits with progress while the wake page answers, then queues the prompt and downloads its output', async () => {
    alb.down = true;
    const servedBefore = edge.served.length;
    const lines: string[] = [];
    let now = 0;
    let sleeps = 0;
    // The pod registers during the second wait; the clock moves only when invoke sleeps, so nothing depends on timing.
    const clock = {
      now: () => now,
      sleep: async (ms: number) => {
        now += ms;
        sleeps += 1;
        if (sleeps === 2) alb.down = false;
      },
    };
    const result = await invokeWorkflow({
      workflowFile: DEFAULT_BENCH_WORKFLOW,
      endpoint: { url: edge.url, token: alice.token },
      overrides: {},
      outDir: mkdtempSync(path.join(os.tmpdir(), 'wake-invoke-')),
      download: true,
      previews: false,
      timeoutMs: 60_000,
      wakeTimeoutMs: 15 * 60_000,
      clock,
      quiet: true,
      log: (line) => lines.push(line),
    });
    expect(lines.slice(0, 2)).toEqual([
      `GPUs starting, waited 0s, about ${COLD_START_MINUTES} min`,
      `GPUs starting, waited 20s, about ${COLD_START_MINUTES} min`,
    ]);
    expect(result.files).toHaveLength(1);
    // Each GET while starting was a visit; the POST went to the pod only once the ALB answered.
    expect((await visits()).map((v) => v.path)).toEqual(['/system_stats', '/system_stats']);
    const posts = edge.served.slice(servedBefore).filter((s) => s.method === 'POST');
    expect(posts).toEqual([{ method: 'POST', path: '/prompt', origin: 'alb', status: 200 }]);
  });
});
