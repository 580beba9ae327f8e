import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { EXIT } from '../../lib/cli/cli-error';
import { jobOutputsPrefix } from '../../lib/jobs/contract';
import { CapturedRun } from '../helpers/captured-comfyctl';
import { JobsCliHarness, SAMPLE_WORKFLOW, startJobsCliHarness } from '../helpers/jobs-cli-harness';

const ALICE = 'alice.alice-secret';
const BOB = 'bob.bob-secret';
const WORKFLOW = SAMPLE_WORKFLOW;

let harness: JobsCliHarness;
let dir: string;

beforeAll(async () => {
  harness = await startJobsCliHarness({ [ALICE]: 'alice', [BOB]: 'bob' });
  dir = mkdtempSync(path.join(os.tmpdir(), 'jobs-cli-'));
  writeFileSync(path.join(dir, 'workflow_api.json'), JSON.stringify(WORKFLOW));
  writeFileSync(path.join(dir, 'other_api.json'), JSON.stringify({ ...WORKFLOW, 6: { class_type: 'CLIPTextEncode', inputs: { text: 'a dog', clip: ['4', 1] } } }));
  writeFileSync(path.join(dir, 'ui.json'), JSON.stringify({ nodes: [{ id: 3 }], links: [] }));
});

afterAll(async () => {
  await harness?.stop();
});

const comfyctl = (token: string, ...args: string[]) => harness.comfyctl(token, ...args);
const jobItem = (id: string) => harness.jobItem(id);
const updateJob = (id: string, fields: Record<string, unknown>) => harness.updateJob(id, fields);

async function submitted(run: CapturedRun): Promise<string> {
  expect(run.stderr).toMatch(/submitted job/);
  expect(run.code).toBe(0);
  return run.stdout.trim();
}

/** Resolves once `count` more GETs of the job have gone through the edge than when it was called. */
function jobReads(id: string): (count: number) => Promise<void> {
  const isRead = (r: { method: string; url: string }) => r.method === 'GET' && r.url.endsWith(`/jobs/${id}`);
  const start = harness.edge.forwarded.filter(isRead).length;
  return async (count) => {
    while (harness.edge.forwarded.filter(isRead).length < start + count) await new Promise((r) => setTimeout(r, 20));
  };
}

describe('comfyctl jobs submit', () => {
  test('a workflow file becomes a pending job whose id is printed, with the body hash CloudFront needs', async () => {
    const id = await submitted(await comfyctl(ALICE, 'jobs', 'submit', path.join(dir, 'workflow_api.json')));
    const item = await jobItem(id);
    expect(item).toMatchObject({ owner: 'alice', status: 'pending' });
    expect(JSON.parse(item.workflow_json)).toEqual(WORKFLOW);
    const post = harness.edge.forwarded.filter((r) => r.method === 'POST' && r.url.endsWith('/render-api/v1/jobs')).at(-1)!;
    expect(post.headers['x-amz-content-sha256']).toBe(createHash('sha256').update(post.body).digest('hex'));
    expect(JSON.parse(post.body.toString('utf8')).idempotency_key).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('a UI-format file is refused before anything is sent, saying to use Export (API)', async () => {
    const before = harness.edge.forwarded.length;
    const run = await comfyctl(ALICE, 'jobs', 'submit', path.join(dir, 'ui.json'));
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toMatch(/UI-format workflow.*"Export \(API\)"/);
    expect(harness.edge.forwarded.length).toBe(before);
  });

  test('the same idempotency key returns the same job; with another body it is a conflict', async () => {
    const file = path.join(dir, 'workflow_api.json');
    const first = await submitted(await comfyctl(ALICE, 'jobs', 'submit', file, '--idempotency-key', 'shot-042'));
    const again = await comfyctl(ALICE, 'jobs', 'submit', file, '--idempotency-key', 'shot-042');
    expect(again.code).toBe(0);
    expect(again.stdout.trim()).toBe(first);
    expect(again.stderr).toMatch(/idempotency key shot-042 was used before/);
    const other = await comfyctl(ALICE, 'jobs', 'submit', path.join(dir, 'other_api.json'), '--idempotency-key', 'shot-042');
    expect(other.code).toBe(EXIT.usage);
    expect(other.stderr).toMatch(/idempotency key shot-042 was used in the last 24 hours for a different request: pass a new --idempotency-key/);
  });

  test('without a key, two runs make two jobs', async () => {
    const file = path.join(dir, 'workflow_api.json');
    const a = await submitted(await comfyctl(ALICE, 'jobs', 'submit', file));
    const b = await submitted(await comfyctl(ALICE, 'jobs', 'submit', file));
    expect(a).not.toBe(b);
  });

  test('a wrong token is refused with the advice to check it', async () => {
    const run = await comfyctl('alice.wrong', 'jobs', 'ls');
    expect(run.code).toBe(EXIT.unauthorized);
    expect(run.stderr).toMatch(/token was refused.*comfyctl users rotate/);
  });
});

describe('comfyctl jobs get, ls and cancel', () => {
  test("get shows the job; another user's job is not found, with what that means", async () => {
    const id = await submitted(await comfyctl(ALICE, 'jobs', 'submit', path.join(dir, 'workflow_api.json')));
    const shown = await comfyctl(ALICE, 'jobs', 'get', id);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`^job\\s+${id}  pending$`, 'm'));
    expect(shown.stdout).toMatch(/^progress\s+pending: waiting for an idle GPU$/m);
    const json = await comfyctl(ALICE, 'jobs', 'get', id, '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ id, owner: 'alice', status: 'pending' });
    const bob = await comfyctl(BOB, 'jobs', 'get', id);
    expect(bob.code).toBe(EXIT.usage);
    expect(bob.stderr).toMatch(new RegExp(`job ${id} not found: a wrong id, or not one of yours`));
  });

  test('ls pages through next_cursor, filters by status and says when more match', async () => {
    // Bob's own jobs: three submitted, two of them then failed by "the runner".
    const file = path.join(dir, 'workflow_api.json');
    const ids = [];
    for (let i = 0; i < 3; i += 1) ids.push(await submitted(await comfyctl(BOB, 'jobs', 'submit', file)));
    await updateJob(ids[0], { status: 'failed' });
    await updateJob(ids[2], { status: 'failed' });

    const two = await comfyctl(BOB, 'jobs', 'ls', '--limit', '2');
    expect(two.code).toBe(0);
    expect(two.stdout.trim().split('\n').slice(1).map((l) => l.split(/\s+/)[0])).toEqual([ids[2], ids[1]]);
    expect(two.stderr).toMatch(/more jobs match/);
    const all = await comfyctl(BOB, 'jobs', 'ls', '--all', '--json');
    expect(JSON.parse(all.stdout).map((j: { id: string }) => j.id)).toEqual([ids[2], ids[1], ids[0]]);
    // A page of 2 holds one failed job (the filter drops the pending one), so the second comes from the next page.
    const before = harness.edge.forwarded.length;
    const failed = await comfyctl(BOB, 'jobs', 'ls', '--status', 'failed', '--limit', '2');
    expect(failed.stdout.trim().split('\n').slice(1).map((l) => l.split(/\s+/).slice(0, 2))).toEqual([[ids[2], 'failed'], [ids[0], 'failed']]);
    const pages = harness.edge.forwarded.slice(before).map((r) => new URL(r.url, 'http://x').searchParams);
    expect(pages.map((p) => [p.get('status'), p.get('limit'), p.has('cursor')])).toEqual([['failed', '2', false], ['failed', '1', true]]);
    const failedAll = await comfyctl(BOB, 'jobs', 'ls', '--status', 'failed', '--all', '--json');
    expect(JSON.parse(failedAll.stdout).map((j: { id: string }) => j.id)).toEqual([ids[2], ids[0]]);
  });

  test('cancel stops a pending job; a second cancel says it has already finished', async () => {
    const id = await submitted(await comfyctl(ALICE, 'jobs', 'submit', path.join(dir, 'workflow_api.json')));
    const run = await comfyctl(ALICE, 'jobs', 'cancel', id);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`job ${id} cancelled\n`);
    expect((await jobItem(id)).status).toBe('cancelled');
    const again = await comfyctl(ALICE, 'jobs', 'cancel', id);
    expect(again.code).toBe(EXIT.usage);
    expect(again.stderr).toMatch(new RegExp(`job ${id} has already finished`));
  });
  test('cancel of a running job asks its runner to interrupt it', async () => {
    const id = await submitted(await comfyctl(ALICE, 'jobs', 'submit', path.join(dir, 'workflow_api.json')));
    await updateJob(id, { status: 'in_progress', attempt: 1, worker: { pod: 'comfyui-0', gpu: 0, prompt_id: 'p9' } });
    const run = await comfyctl(ALICE, 'jobs', 'cancel', id);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`job ${id} is in_progress: cancel requested, its runner interrupts it`));
    expect(await jobItem(id)).toMatchObject({ status: 'in_progress', cancel_requested: true });
  });
});

describe('comfyctl jobs wait', () => {
  test('draws the progress the runner writes, then downloads every output from its presigned URL', async () => {
    const id = await submitted(await comfyctl(ALICE, 'jobs', 'submit', path.join(dir, 'workflow_api.json')));
    const out = path.join(dir, 'renders');
    const reads = jobReads(id);
    const waiting = comfyctl(ALICE, 'jobs', 'wait', id, '--out', out, '--interval', '0.05');
    // Two reads: the second is sent only after the first was answered, so that answer was the pending job.
    await reads(2);
    await updateJob(id, {
      status: 'in_progress', attempt: 1, execution_start_time: Date.now(), worker: { pod: 'comfyui-0', gpu: 1, prompt_id: 'p1' },
      progress: { node: '3', node_type: 'KSampler', step: 12, steps: 20, nodes_done: 2, nodes_total: 4 },
    });
    await jobReads(id)(2);
    const png = Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 7) % 256));
    const key = `${jobOutputsPrefix('alice', id)}ComfyUI_00001_.png`;
    await harness.s3.send(new PutObjectCommand({ Bucket: harness.backend.outputsBucket, Key: key, Body: png, ContentType: 'image/png' }));
    await updateJob(id, {
      status: 'completed', execution_end_time: Date.now(),
      progress: { node: '9', node_type: 'SaveImage', nodes_done: 4, nodes_total: 4 },
      outputs: [{ node: '9', filename: 'ComfyUI_00001_.png', media_type: 'images', size: png.length, content_type: 'image/png', key }],
    });
    const run = await waiting;
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/pending: waiting for an idle GPU/);
    expect(run.stderr).toMatch(/: 50% 2\/4 #3 KSampler step 12\/20/);
    expect(run.stderr).toMatch(/saved .*ComfyUI_00001_\.png \(48\.8 KiB\)/);
    expect(run.stdout).toBe(`${path.join(out, 'ComfyUI_00001_.png')}\n`);
    expect(readFileSync(path.join(out, 'ComfyUI_00001_.png')).equals(png)).toBe(true);
  });

  test("a failed job exits non-zero with ComfyUI's error", async () => {
    const id = await submitted(await comfyctl(ALICE, 'jobs', 'submit', path.join(dir, 'workflow_api.json')));
    await updateJob(id, {
      status: 'failed', attempt: 1, execution_end_time: Date.now(),
      execution_error: { node_id: '3', node_type: 'KSampler', exception_type: 'torch.OutOfMemoryError', exception_message: 'CUDA out of memory', traceback: ['Traceback...\n'] },
    });
    const run = await comfyctl(ALICE, 'jobs', 'wait', id, '--out', path.join(dir, 'none'));
    expect(run.code).toBe(EXIT.execution);
    expect(run.stderr).toMatch(new RegExp(`job ${id} failed at #3 KSampler: torch\\.OutOfMemoryError: CUDA out of memory`));
    expect(run.stdout).toBe('');
  });
  test('submit --wait follows the new job; cancelled by its runner, it exits non-zero saying so', async () => {
    const before = harness.edge.forwarded.length;
    const running = comfyctl(ALICE, 'jobs', 'submit', path.join(dir, 'workflow_api.json'), '--wait', '--interval', '0.05');
    let read: { url: string } | undefined;
    while (!(read = harness.edge.forwarded.slice(before).find((r) => r.method === 'GET'))) await new Promise((r) => setTimeout(r, 20));
    const id = read.url.split('/').pop()!;
    await updateJob(id, { status: 'cancelled', execution_end_time: Date.now() });
    const run = await running;
    expect(run.code).toBe(EXIT.execution);
    expect(run.stderr).toMatch(new RegExp(`submitted job ${id} \\(pending\\)`));
    expect(run.stderr).toMatch(new RegExp(`job ${id} was cancelled`));
  });

  test('a job still pending at --timeout exits with the timeout code and how to go on', async () => {
    const id = await submitted(await comfyctl(ALICE, 'jobs', 'submit', path.join(dir, 'workflow_api.json')));
    const run = await comfyctl(ALICE, 'jobs', 'wait', id, '--timeout', '0.2', '--interval', '0.05');
    expect(run.code).toBe(EXIT.timeout);
    expect(run.stderr).toMatch(new RegExp(`job ${id} is still pending after 0.2 s; it goes on without you: 'comfyctl jobs wait ${id}' again later`));
  });
});

describe('comfyctl jobs webhook-secret', () => {
  test('prints the same secret until --rotate replaces it', async () => {
    const first = await comfyctl(ALICE, 'jobs', 'webhook-secret');
    expect(first.code).toBe(0);
    const secret = first.stdout.trim();
    expect(secret.length).toBeGreaterThanOrEqual(32);
    expect(first.stderr).toMatch(/x-render-signature-256/);
    expect((await comfyctl(ALICE, 'jobs', 'webhook-secret')).stdout.trim()).toBe(secret);
    const rotated = (await comfyctl(ALICE, 'jobs', 'webhook-secret', '--rotate')).stdout.trim();
    expect(rotated).not.toBe(secret);
    expect((await comfyctl(ALICE, 'jobs', 'webhook-secret')).stdout.trim()).toBe(rotated);
    expect((await comfyctl(BOB, 'jobs', 'webhook-secret')).stdout.trim()).not.toBe(rotated);
  });
});
