import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../lib/cli/cli-error';
import { CHECK_NAMES } from '../../lib/cli/verify/check-result';
import { PRIVATE_COPY_FLOOR_BYTES } from '../../lib/cli/verify/process-ram-sharing';
import { runCaptured } from '../helpers/captured-comfyctl';
import { freeLoopbackPort } from '../helpers/loopback-server';
import { defaultExecutor, Simulator, startSimulator } from '../helpers/simulator';

const statuses = (stdout: string) => Object.fromEntries(stdout.trim().split('\n').filter((l) => /^(PASS|FAIL|SKIP) /.test(l)).map((l) => [l.split(/[ :]/)[1], l.split(' ')[0]]));

describe('comfyctl verify against the multi-GPU simulator (python -m multigpu.sim on 127.0.0.1)', () => {
  let sim: Simulator;
  let cacheOff: Simulator;
  // 500 ms per prompt: long enough that queued prompts can be seen waiting and the four executions overlap even
  // on a machine busy with other work. The speedup itself is a figure for benchmarks, not a pass mark here:
  // how fast a loaded CI machine runs the simulator says nothing about the code (the verdict's arithmetic is
  // unit-tested in verify-verdicts.test.ts), so the test passes a token --min-speedup.
  // The weights cache is thread mode's; the cache-off server is thread mode in every run (COMFY_TEST_EXECUTOR).
  beforeAll(async () => {
    [sim, cacheOff] = await Promise.all([startSimulator({ gpus: 4, execMs: 500 }),
      startSimulator({ gpus: 4, execMs: 100, weightsCacheGib: 0, executor: 'thread' })]);
  });
  afterAll(async () => { await Promise.all([sim?.stop(), cacheOff?.stop()]); });

  it('passes every check on 4 GPUs and reports them as JSON, in order, with their figures', async () => {
    const run = await runCaptured(['verify', '--url', sim.url, '--gpus', '4', '--prompts', '4', '--min-speedup', '0.01', '--json']);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ gpus: 4, passed: true });
    expect(report.checks.map((c: { name: string }) => c.name)).toEqual([...CHECK_NAMES]);
    for (const check of report.checks) expect(`${check.name} ${check.status}: ${check.detail}`).toMatch(/ PASS: /);
    const figures = Object.fromEntries(report.checks.map((c: { name: string; figures: unknown }) => [c.name, c.figures]));
    expect(figures.parallelism.overlapMs).toBeGreaterThan(0);
    expect(Object.keys(figures.parallelism.executionMs)).toEqual(['0', '1', '2', '3']);
    if (defaultExecutor() === 'thread') expect(figures['ram-sharing'].ramHits).toBeGreaterThanOrEqual(3);
    else expect(figures['ram-sharing'].anonGrowthBytes).toBeLessThan(PRIVATE_COPY_FLOOR_BYTES); // one process per GPU
    expect(figures.throughput.minSpeedup).toBe(0.01);
    expect(figures.throughput.speedup).toBeGreaterThan(0);
    expect(Object.keys(figures.throughput.perGpu).sort()).toEqual(['0', '1', '2', '3']);
    // Said before the models are freed, so an operator knows not to run it on a node in use.
    expect(run.stderr).toContain("freeing every GPU's models (POST /free)");
  });

  it('fails workers when --gpus says 8 on a 4-GPU node, skips the rest and exits 8', async () => {
    const run = await runCaptured(['verify', '--url', sim.url, '--gpus', '8', '--quiet']);
    expect(run.code).toBe(EXIT.checksFailed);
    expect(run.stdout).toMatch(/^FAIL workers: 4 queues, expected 8 \(--gpus\)\. Next: the pod sees 4 GPUs/);
    expect(statuses(run.stdout)).toEqual({ workers: 'FAIL', 'bad-header': 'SKIP', 'header-routing': 'SKIP', 'queue-isolation': 'SKIP', parallelism: 'SKIP', 'ram-sharing': 'SKIP', throughput: 'SKIP' });
    expect(run.stdout).toContain('verify: 0 passed, 1 failed (workers), 6 skipped');
    expect(run.stderr).toContain('comfyctl: 1 check failed: workers');
  });

  it('skips ram-sharing, with the reason, when the weights cache is off (--weights-cache-gib 0)', async () => {
    const run = await runCaptured(['verify', '--url', cacheOff.url, '--skip', 'throughput', '--quiet']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('SKIP ram-sharing: the server exposes no comfyui_weights_cache_* series: the shared weights cache is off (COMFY_WEIGHTS_CACHE_GIB=0)');
    expect(statuses(run.stdout)).toMatchObject({ workers: 'PASS', parallelism: 'PASS', 'ram-sharing': 'SKIP', throughput: 'SKIP' });
  });

  it('fails throughput below --min-speedup with both rates and what to check, and exits 8', async () => {
    const run = await runCaptured(['verify', '--url', cacheOff.url, '--skip', 'bad-header,header-routing', '--skip', 'queue-isolation,parallelism,ram-sharing', '--prompts', '2', '--min-speedup', '40', '--quiet']);
    expect(run.code).toBe(EXIT.checksFailed);
    expect(run.stdout).toMatch(/FAIL throughput: 1 GPU [\d.]+\/s, 4 GPUs [\d.]+\/s: speedup [\d.]+x \(< 40\.00x\), per GPU 0:\d+ .*\. Next: the GPUs did not scale/);
  });

  it('keeps the exit codes of an unreachable URL and of a bad --skip', async () => {
    const closed = await freeLoopbackPort();
    expect((await runCaptured(['verify', '--url', `http://127.0.0.1:${closed}`, '--quiet'])).code).toBe(EXIT.unreachable);
    const badSkip = await runCaptured(['verify', '--url', sim.url, '--skip', 'speed']);
    expect(badSkip.code).toBe(EXIT.usage);
    expect(badSkip.stderr).toContain('unknown check "speed"; the checks are workers, bad-header, header-routing');
  });
});
