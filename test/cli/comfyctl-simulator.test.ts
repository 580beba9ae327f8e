import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BENCH_WORKFLOW } from '../../lib/cli/bench-workflow-options';
import { EXIT } from '../../lib/cli/cli-error';
import { EdgeProxy, startEdgeProxy } from '../helpers/edge-proxy';
import { runCaptured } from '../helpers/captured-comfyctl';
import { freeLoopbackPort } from '../helpers/loopback-server';
import { Simulator, startSimulator } from '../helpers/simulator';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'comfyctl-'));

function workflowFile(change: (w: Record<string, any>) => void): string {
  const workflow = JSON.parse(readFileSync(DEFAULT_BENCH_WORKFLOW, 'utf8'));
  change(workflow);
  const file = path.join(tmp(), 'workflow_api.json');
  writeFileSync(file, JSON.stringify(workflow));
  return file;
}

async function history(sim: Simulator, promptId: string): Promise<any> {
  return ((await (await fetch(`${sim.url}/history/${promptId}`)).json()) as Record<string, unknown>)[promptId];
}

describe('comfyctl against the multi-GPU simulator (python -m multigpu.sim on 127.0.0.1)', () => {
  let sim: Simulator;
  const proxies: EdgeProxy[] = [];
  beforeAll(async () => { sim = await startSimulator({ gpus: 4, execMs: 300 }); });
  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.close()));
    await sim?.stop();
  });
  const proxy = async (options: Parameters<typeof startEdgeProxy>[1]) => {
    const p = await startEdgeProxy(sim.url, options);
    proxies.push(p);
    return p;
  };

  it('invoke renders, follows progress and downloads the PNG through /view', async () => {
    const out = tmp();
    const run = await runCaptured(['invoke', DEFAULT_BENCH_WORKFLOW, '--url', sim.url, '--out', out]);
    expect(run.stderr).toMatch(/queued prompt [0-9a-f-]{36} on GPU \d/);
    expect(run.stderr).toMatch(/render: 100% 7\/7 succeeded/);
    expect(run.code).toBe(0);
    const files = run.stdout.trim().split('\n');
    expect(files).toHaveLength(1);
    expect(path.dirname(files[0])).toBe(out);
    const bytes = readFileSync(files[0]);
    expect(bytes.subarray(0, 8)).toEqual(PNG_SIGNATURE);
    expect(bytes).toEqual(readFileSync(path.join(sim.outputDir, path.basename(files[0]))));
  });

  it('invoke --gpu pins the prompt: the server routes it there and runs it there', async () => {
    for (const gpu of [1, 3]) {
      const run = await runCaptured(['invoke', DEFAULT_BENCH_WORKFLOW, '--url', sim.url, '--gpu', String(gpu), '--json', '--no-download', '--quiet']);
      expect(run.code).toBe(0);
      const result = JSON.parse(run.stdout);
      expect(result.gpuId).toBe(gpu);
      expect((await history(sim, result.promptId)).gpu_id).toBe(gpu);
    }
  });

  it('invoke sends the prompt, seed and steps overrides to the server', async () => {
    const run = await runCaptured(['invoke', DEFAULT_BENCH_WORKFLOW, '--url', sim.url, '--prompt', 'a red fox', '--seed', '99', '--steps', '4', '--json', '--no-download', '--quiet']);
    expect(run.code).toBe(0);
    const sent = (await history(sim, JSON.parse(run.stdout).promptId)).prompt[2];
    expect(sent['6'].inputs.text).toBe('a red fox');
    expect(sent['7'].inputs.text).toBe('blurry, low quality, text, watermark');
    expect(sent['3'].inputs).toMatchObject({ seed: 99, steps: 4 });
  });

  it('invoke shows ComfyUI\'s validation errors with the node and the input that failed', async () => {
    const bad = workflowFile((w) => { w['3'].inputs.steps = 0; w['4'].inputs.ckpt_name = 'missing.safetensors'; });
    const run = await runCaptured(['invoke', bad, '--url', sim.url]);
    expect(run.code).toBe(EXIT.validation);
    expect(run.stderr).toContain('ComfyUI rejected the workflow (HTTP 400): Prompt outputs failed validation');
    expect(run.stderr).toContain('#3 "Sampler" (KSampler), input \'steps\': Value 0 smaller than min of 1');
    expect(run.stderr).toContain('#4 "Checkpoint" (CheckpointLoaderSimple), input \'ckpt_name\': Value not in list');
  });

  it('invoke reports an execution error with the node and the exception', async () => {
    const oom = workflowFile((w) => { w['2'] = { class_type: 'SimulateOOM', inputs: { times: 2 } }; });
    const run = await runCaptured(['invoke', oom, '--url', sim.url, '--quiet']);
    expect(run.code).toBe(EXIT.execution);
    expect(run.stderr).toMatch(/prompt [0-9a-f-]+ failed at #2 SimulateOOM: torch.OutOfMemoryError: CUDA out of memory/);
  });

  it('invoke refuses a GPU outside the server\'s range with the header\'s valid range', async () => {
    const run = await runCaptured(['invoke', DEFAULT_BENCH_WORKFLOW, '--url', sim.url, '--gpu', '9']);
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toContain("comfyctl: --gpu: X-TARGET-GPU must be an integer in 0..3, got '9'");
  });

  it('invoke says what to check when the URL is unreachable', async () => {
    const closed = await freeLoopbackPort();
    const run = await runCaptured(['invoke', DEFAULT_BENCH_WORKFLOW, '--url', `http://127.0.0.1:${closed}`, '--quiet']);
    expect(run.code).toBe(EXIT.unreachable);
    expect(run.stderr).toContain(`cannot reach http://127.0.0.1:${closed}/: ECONNREFUSED. Check --url`);
  });

  it('invoke gives up after --timeout and says the prompt is still on the server', async () => {
    const run = await runCaptured(['invoke', DEFAULT_BENCH_WORKFLOW, '--url', sim.url, '--timeout', '0.05', '--quiet']);
    expect(run.code).toBe(EXIT.timeout);
    expect(run.stderr).toMatch(/did not finish within 0.05 s; it is still queued or running on the server/);
  });

  it('invoke behind an edge that wants a token: 401 says how to get one; the token is sent on HTTP and the WebSocket', async () => {
    const edge = await proxy({ token: 'alice.s3cret' });
    const denied = await runCaptured(['invoke', DEFAULT_BENCH_WORKFLOW, '--url', edge.url, '--quiet']);
    expect(denied.code).toBe(EXIT.unauthorized);
    expect(denied.stderr).toContain('answered 401: this deployment requires a token. Pass --token or set COMFYUI_TOKEN');
    const wrong = await runCaptured(['invoke', DEFAULT_BENCH_WORKFLOW, '--url', edge.url, '--token', 'alice.wrong', '--quiet']);
    expect(wrong.stderr).toContain('answered 401: the token was refused');

    process.env.COMFYUI_TOKEN = 'alice.s3cret';
    try {
      const ok = await runCaptured(['invoke', DEFAULT_BENCH_WORKFLOW, '--url', edge.url, '--out', tmp()]);
      expect(ok.code).toBe(0);
      expect(ok.stderr).not.toContain('polling');
    } finally {
      delete process.env.COMFYUI_TOKEN;
    }
    expect(edge.seen.upgrade).toContain('Bearer alice.s3cret');
    expect(edge.seen.http.filter((a) => a === 'Bearer alice.s3cret').length).toBeGreaterThanOrEqual(3);
  });

  it('invoke explains a 403 from the edge (WAF or rate limit) rather than blaming the token', async () => {
    const edge = await proxy({ answerEverything: 403, refuseWebSocket: 403 });
    const run = await runCaptured(['invoke', DEFAULT_BENCH_WORKFLOW, '--url', edge.url, '--token', 'alice.s3cret', '--quiet']);
    expect(run.code).toBe(EXIT.unauthorized);
    expect(run.stderr).toContain('answered 403 Forbidden: the request was refused before ComfyUI (a WAF rule or rate limit');
  });

  it('invoke finishes through /history when the WebSocket drops mid-render or is refused', async () => {
    for (const options of [{ dropWebSocketAfterMs: 100 }, { refuseWebSocket: 502 }]) {
      const edge = await proxy(options);
      const out = tmp();
      const run = await runCaptured(['invoke', DEFAULT_BENCH_WORKFLOW, '--url', edge.url, '--out', out]);
      expect(run.code).toBe(0);
      expect(run.stderr).toMatch(/progress socket .*; polling \/history/);
      expect(readFileSync(run.stdout.trim()).subarray(0, 8)).toEqual(PNG_SIGNATURE);
    }
  });

  it('bench reports a speedup across the simulated GPUs, with per-GPU counts and latency percentiles', async () => {
    const run = await runCaptured(['bench', '--url', sim.url, '--prompts', '4', '--json']);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.gpus).toBe(4);
    expect(report.single).toMatchObject({ prompts: 4, failed: 0, perGpu: { 0: 4 } });
    expect(report.spread).toMatchObject({ prompts: 16, failed: 0 });
    expect(Object.values(report.spread.perGpu as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(16);
    expect(Object.keys(report.spread.perGpu).sort()).toEqual(['0', '1', '2', '3']);
    // A figure, not a pass mark: on a loaded machine the simulator's speedup says nothing about bench's code.
    expect(report.speedup).toBeCloseTo(report.spread.throughput / report.single.throughput, 6);
    expect(report.spread.latencyMs.p99).toBeGreaterThanOrEqual(report.spread.latencyMs.p50);
  });

  it('bench prints a readable table', async () => {
    const run = await runCaptured(['bench', '--url', sim.url, '--gpus', '2', '--prompts', '2', '--no-warmup', '--quiet']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^benchmark of http:\/\/127.0.0.1:\d+\/ \(2 GPUs\)\nphase +prompts +failed/);
    expect(run.stdout).toMatch(/\n1 GPU +2 +0 /);
    expect(run.stdout).toMatch(/\n2 GPUs +4 +0 /);
    expect(run.stdout).toMatch(/speedup \d+\.\d\dx on 2 GPUs \(efficiency \d+%\)/);
  });
});
