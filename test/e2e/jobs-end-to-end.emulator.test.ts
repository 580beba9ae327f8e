import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createJobWebhooksDeps } from '../../lambda/job-webhooks/deps';
import { handleWebhookEvent } from '../../lambda/job-webhooks/webhook-batch';
import { JOBS, jobOutputsPrefix } from '../../lib/jobs/contract';
import { streamPump, StreamPump } from '../helpers/dynamodb-stream-pump';
import { JobRunnerProcess, startJobRunner } from '../helpers/job-runner-process';
import { callJobsApi } from '../helpers/jobs-api-server';
import { JobsCliHarness, startJobsCliHarness } from '../helpers/jobs-cli-harness';
import { Simulator, startSimulator } from '../helpers/simulator';

/**
 * Jobs and templates end to end on loopback, every part real code: comfyctl -> the edge stand-in (token ->
 * x-comfyui-user) -> the jobs API handler -> DynamoDB, SQS and S3 in moto -> the job runner (Python) -> the
 * multi-GPU simulator -> outputs in S3 -> the table's own stream records -> the webhook sender -> a receiver that
 * checks the signature with the recipe docs/jobs.md gives (openssl).
 */
const ALICE = 'alice.s3cr3t-token';
const BOB = 'bob.s3cr3t-token';
const WORKFLOW_FILE = path.join(__dirname, '..', '..', 'examples', 'workflows', 'sdxl-text-to-image.json');
const WORKFLOW = JSON.parse(readFileSync(WORKFLOW_FILE, 'utf8'));
const LONG = 300_000;
/**
 * Jobs in the burst through the API. 50, not 1,000: moto serves about one call at a time, a job costs about 8 of
 * them, and npm test must pass on loaded CPUs (200 took over ten minutes beside two busy loops). The runner's own
 * burst test (comfyui_image/tests/job_runner/test_runner_burst.py) queues 1,000 jobs the way the API does.
 */
const BURST = 50;

let harness: JobsCliHarness;
let fast: Simulator;
let runner: JobRunnerProcess | undefined;
let pump: StreamPump;
const hooks: { headers: http.IncomingHttpHeaders; body: Buffer }[] = [];
let receiver: http.Server;
let receiverUrl: string;
const stopLater: (() => Promise<void>)[] = [];

async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function submitted(token: string, ...args: string[]): Promise<string> {
  const run = await harness.comfyctl(token, 'jobs', 'submit', ...args);
  expect(run.code, run.stderr).toBe(0);
  return run.stdout.trim();
}

async function historyOf(sim: Simulator, promptId: string): Promise<any> {
  const response = await fetch(`${sim.url}/history/${promptId}`);
  return ((await response.json()) as Record<string, any>)[promptId];
}

beforeAll(async () => {
  harness = await startJobsCliHarness({ [ALICE]: 'alice', [BOB]: 'bob' });
  fast = await startSimulator({ gpus: 2, execMs: 300 });
  runner = await startJobRunner(harness.backend, { 'pod-a': fast.url });
  const deps = createJobWebhooksDeps(harness.backend.env, harness.backend.clientConfig);
  pump = streamPump(harness.backend.clientConfig.endpoint, harness.backend.tableStreamArn,
    (event, context) => handleWebhookEvent(event, context, deps));
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hooks.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
}, LONG);

afterAll(async () => {
  await runner?.stop();
  for (const stop of stopLater) await stop();
  await fast?.stop();
  await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
  await harness?.stop();
}, LONG);

describe('jobs end to end', () => {
  test('submit, run on an idle GPU, outputs in S3 under the user and job, downloaded, signed webhook', async () => {
    const id = await submitted(ALICE, WORKFLOW_FILE, '--webhook', receiverUrl);
    const out = mkdtempSync(path.join(os.tmpdir(), 'jobs-e2e-'));
    const wait = await harness.comfyctl(ALICE, 'jobs', 'wait', id, '--out', out, '--timeout', '120');
    expect(wait.code, wait.stderr).toBe(0);

    const item = await harness.jobItem(id);
    expect(item).toMatchObject({ status: JOBS.status.completed, owner: 'alice', attempt: 1, worker: { pod: 'pod-a' } });
    expect(item.outputs.length).toBeGreaterThan(0);
    const files = readdirSync(out);
    expect(files.sort()).toEqual(item.outputs.map((o: any) => o.filename).sort());
    for (const output of item.outputs) {
      expect(output.key.startsWith(jobOutputsPrefix('alice', id))).toBe(true);
      const local = readFileSync(path.join(out, output.filename));
      expect(local.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      const stored = await harness.s3.send(new GetObjectCommand({ Bucket: harness.backend.outputsBucket, Key: output.key }));
      expect(Buffer.from(await stored.Body!.transformToByteArray())).toEqual(local);
    }
    // The prompt ran once on the simulator, with its outputs saved under the runner's jobs/<id>/ folder.
    const history = await historyOf(fast, item.worker.prompt_id);
    expect(history.status.status_str).toBe('success');

    // The webhook comes from the table's own stream records, signed with alice's secret.
    await until('the webhook', async () => (await pump.drain(), hooks.length > 0));
    const [hook] = hooks;
    const body = JSON.parse(hook.body.toString('utf8'));
    expect(body).toMatchObject({ event: 'job.completed', job: { id, status: 'completed', owner: 'alice' } });
    const secret = (await harness.comfyctl(ALICE, 'jobs', 'webhook-secret')).stdout.trim();
    const bodyFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'hook-')), 'body');
    writeFileSync(bodyFile, hook.body);
    // The receiver's recipe from docs/jobs.md: HMAC-SHA256 of the raw body with the secret, hex.
    const digest = execFileSync('openssl', ['dgst', '-sha256', '-hmac', secret, '-r', bodyFile], { encoding: 'utf8' }).split(' ')[0];
    expect(hook.headers[JOBS.webhook.signatureHeader]).toBe(`sha256=${digest}`);
    const wrong = execFileSync('openssl', ['dgst', '-sha256', '-hmac', `${secret}x`, '-r', bodyFile], { encoding: 'utf8' }).split(' ')[0];
    expect(hook.headers[JOBS.webhook.signatureHeader]).not.toBe(`sha256=${wrong}`);
    await until('webhook_state delivered', async () => (await harness.jobItem(id)).webhook_state === 'delivered');
  }, LONG);

  test('a template runs by name with its inputs applied; a wrong input is refused naming it', async () => {
    const publish = await harness.comfyctl(ALICE, 'templates', 'publish', 'lighthouse', WORKFLOW_FILE,
      '--input', 'prompt=6.text', '--input', 'seed=3.seed');
    expect(publish.code, publish.stderr).toBe(0);
    const id = await submitted(BOB, '--template', 'lighthouse', '--input', 'prompt=a red fox in the snow', '--input', 'seed=7');
    const wait = await harness.comfyctl(BOB, 'jobs', 'wait', id, '--timeout', '120', '--out', mkdtempSync(path.join(os.tmpdir(), 'jobs-e2e-')));
    expect(wait.code, wait.stderr).toBe(0);
    const item = await harness.jobItem(id);
    expect(item.template).toMatchObject({ name: 'lighthouse', version: 1 });
    const ran = (await historyOf(fast, item.worker.prompt_id)).prompt[2];
    expect(ran['6'].inputs.text).toBe('a red fox in the snow');
    expect(ran['3'].inputs.seed).toBe(7);

    const wrong = await harness.comfyctl(BOB, 'jobs', 'submit', '--template', 'lighthouse', '--input', 'colour=red');
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('colour');
    const mistyped = await harness.comfyctl(BOB, 'jobs', 'submit', '--template', 'lighthouse', '--input', 'seed="seven"');
    expect(mistyped.code).not.toBe(0);
    expect(mistyped.stderr).toContain('seed');
  }, LONG);

  test('cancel a running job on its GPU; a runner killed mid-job: the next one adopts the prompt and it finishes once', async () => {
    await runner!.stop();
    runner = undefined;
    const slow = await startSimulator({ gpus: 1, execMs: 15_000 });
    stopLater.push(() => slow.stop());
    let slowRunner = await startJobRunner(harness.backend, { 'pod-b': slow.url }, { name: 'runner-b' });
    stopLater.push(() => slowRunner.stop());

    const running = async (id: string) => {
      const item = await harness.jobItem(id);
      return item.status === JOBS.status.inProgress && item.worker?.prompt_id ? item : undefined;
    };
    const cancelled = await submitted(ALICE, WORKFLOW_FILE);
    const { worker } = await until('the job to run', () => running(cancelled));
    const cancel = await harness.comfyctl(ALICE, 'jobs', 'cancel', cancelled);
    expect(cancel.code, cancel.stderr).toBe(0);
    await until('the job to be cancelled', async () => (await harness.jobItem(cancelled)).status === JOBS.status.cancelled, 60_000);
    const wait = await harness.comfyctl(ALICE, 'jobs', 'wait', cancelled, '--timeout', '30', '--out', mkdtempSync(path.join(os.tmpdir(), 'jobs-e2e-')));
    expect(wait.code).toBe(6);
    // Interrupted on the GPU, not left running: the simulator's history says so.
    const interrupted = await until('the interrupted prompt in the history', () => historyOf(slow, worker.prompt_id));
    expect(interrupted.status.status_str).not.toBe('success');

    const survivor = await submitted(ALICE, WORKFLOW_FILE);
    const before = await until('the job to run', () => running(survivor));
    // The runner records the prompt id before it submits; kill it only once the prompt really runs on the pod
    // (killed earlier, the next runner finds no prompt and rightly submits a new one).
    await until('the prompt to run on the pod', async () => {
      const queue = (await (await fetch(`${slow.url}/queue`)).json()) as { queue_running: unknown[][] };
      return queue.queue_running.some((entry) => entry[1] === before.worker.prompt_id);
    });
    slowRunner.signal('SIGKILL');
    await slowRunner.exited();
    slowRunner = await startJobRunner(harness.backend, { 'pod-b': slow.url }, { name: 'runner-c' });
    await until('the adopted job to finish', async () => (await harness.jobItem(survivor)).status === JOBS.status.completed, 120_000);
    const after = await harness.jobItem(survivor);
    expect(after.attempt).toBe(2);
    expect(after.worker.prompt_id).toBe(before.worker.prompt_id);
    const all = (await (await fetch(`${slow.url}/history`)).json()) as Record<string, any>;
    expect(Object.values(all).filter((h: any) => h.prompt[1] === before.worker.prompt_id)).toHaveLength(1);
    await slowRunner.stop();
  }, LONG);

  test('a burst of jobs through the API, retried submits included, all complete exactly once', async () => {
    // Only this test's two runners and two pods take jobs (the first test's runner would take some).
    await runner?.stop();
    runner = undefined;
    const pods = { 'pod-c': (await startSimulator({ gpus: 4, execMs: 5 })), 'pod-d': (await startSimulator({ gpus: 4, execMs: 5 })) };
    for (const sim of Object.values(pods)) stopLater.push(() => sim.stop());
    const urls = Object.fromEntries(Object.entries(pods).map(([name, sim]) => [name, sim.url]));

    const submit = async (body: Record<string, unknown>) => {
      const answer = await callJobsApi(harness.api, 'POST', '/jobs', { user: 'carol', body: { workflow: WORKFLOW, ...body } });
      expect([200, 202]).toContain(answer.status);
      return answer.body.id as string;
    };
    // 10 keyed submits, each retried, first; then the rest without a key from four clients at once. With a key the
    // API writes the job and the key in one transaction, and moto deep-copies every table, stream records
    // included, for each transaction: cheap on an empty table, slow once many jobs have run (real DynamoDB has no
    // such cost).
    const ids: string[] = [];
    for (let i = 0; i < 10; i += 1) {
      const first = await submit({ idempotency_key: `burst-${i}` });
      expect(await submit({ idempotency_key: `burst-${i}` })).toBe(first);
      ids.push(first);
    }
    // The runners start only now. A retried keyed submit is a transaction that fails, and moto rolls a failed
    // transaction back by restoring a copy of the whole table taken when it began, undoing every write made
    // meanwhile: a runner's pickup and completion of an earlier job were undone here, leaving it pending with its
    // message deleted. Real DynamoDB transactions touch only their own items.
    const runners = [
      await startJobRunner(harness.backend, urls, { name: 'runner-x' }),
      await startJobRunner(harness.backend, urls, { name: 'runner-y' }),
    ];
    for (const r of runners) stopLater.push(() => r.stop());
    let next = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next < BURST - 10) {
        next += 1;
        ids.push(await submit({}));
      }
    }));
    expect(new Set(ids).size).toBe(BURST);

    const byStatus = async () => {
      const items: any[] = [];
      let start: Record<string, any> | undefined;
      do {
        const page = await harness.db.send(new QueryCommand({
          TableName: harness.backend.tableName, IndexName: JOBS.table.ownerIndexName,
          KeyConditionExpression: '#o = :o',
          ExpressionAttributeValues: { ':o': 'carol' }, ExclusiveStartKey: start,
          ProjectionExpression: '#s, #w', ExpressionAttributeNames: { '#o': JOBS.table.ownerIndexPartitionKey, '#s': 'status', '#w': 'worker' },
        }));
        items.push(...(page.Items ?? []));
        start = page.LastEvaluatedKey;
      } while (start);
      return items;
    };
    // Waits on the runners' own job_finished lines, then reads the table once (moto copies every item a query
    // returns, so the table is not polled).
    await until('every job of the burst to finish', async () => {
      await new Promise((r) => setTimeout(r, 1000));
      return new Set(runners.flatMap((r) => r.events('job_finished')).map((e) => e.job_id)).size >= BURST;
    }, 900_000);
    const items = await byStatus();
    expect(items).toHaveLength(BURST);
    expect(items.filter((i) => i.status !== JOBS.status.completed)).toEqual([]);
    // Exactly once: one prompt per job across both pods, and no prompt without a job.
    const prompts = new Set(items.map((i) => i.worker.prompt_id));
    expect(prompts.size).toBe(BURST);
    let ran = 0;
    for (const sim of Object.values(pods)) {
      const history = (await (await fetch(`${sim.url}/history?max_items=5000`)).json()) as Record<string, any>;
      for (const entry of Object.values(history) as any[]) {
        expect(prompts.has(entry.prompt[1])).toBe(true);
        ran += 1;
      }
    }
    expect(ran).toBe(BURST);
  }, 1_200_000);
});
