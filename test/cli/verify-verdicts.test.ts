import { describe, expect, it } from 'vitest';
import { BenchReport, PhaseSummary } from '../../lib/cli/comfyui/bench-report';
import { HistoryEntry } from '../../lib/cli/comfyui/comfyui-client';
import { BatchPrompt } from '../../lib/cli/comfyui/prompt-batch';
import { PromptTracker } from '../../lib/cli/comfyui/prompt-tracker';
import { judgeBadHeader } from '../../lib/cli/verify/bad-header-check';
import { formatCheckLine } from '../../lib/cli/verify/check-result';
import { judgeHeaderRouting } from '../../lib/cli/verify/header-routing-check';
import { commonOverlapMs, executionTimes, judgeParallelism } from '../../lib/cli/verify/parallelism-check';
import { parsePrometheusText } from '../../lib/cli/verify/prometheus-text';
import { judgeQueueIsolation } from '../../lib/cli/verify/queue-isolation-check';
import { judgeRamSharing } from '../../lib/cli/verify/ram-sharing-check';
import { judgeThroughput } from '../../lib/cli/verify/throughput-check';
import { judgeWorkers } from '../../lib/cli/verify/workers-check';

const ran = (startMs: number, endMs: number): HistoryEntry => ({
  outputs: {},
  status: { status_str: 'success', messages: [['execution_start', { timestamp: startMs }], ['execution_cached', { timestamp: startMs }], ['execution_success', { timestamp: endMs }]] },
});
const prompt = (id: string, fields: Partial<BatchPrompt> = {}): BatchPrompt => ({ tracker: new PromptTracker(id), submittedAt: 0, ...fields });
const onGpus = (...intervals: [number, number][]) => ({
  prompts: intervals.map(([start, end], gpu) => ({ gpu, prompt: prompt(`p${gpu}`, { executedGpu: gpu, history: ran(start, end) }) })),
});

describe('parallelism: execution intervals from history', () => {
  it('reads execution_start and execution_success timestamps; an entry without both has none', () => {
    expect(executionTimes(ran(1000, 1200))).toEqual({ startMs: 1000, endMs: 1200 });
    expect(executionTimes({ outputs: {}, status: { messages: [['execution_start', { timestamp: 5 }]] } })).toBeUndefined();
    expect(executionTimes(undefined)).toBeUndefined();
  });

  it('measures how long all intervals ran at once: min(end) - max(start)', () => {
    expect(commonOverlapMs([{ gpu: 0, startMs: 0, endMs: 100 }, { gpu: 1, startMs: 20, endMs: 130 }, { gpu: 2, startMs: 10, endMs: 90 }])).toBe(70);
    expect(commonOverlapMs([{ gpu: 0, startMs: 0, endMs: 100 }, { gpu: 1, startMs: 100, endMs: 200 }])).toBe(0);
  });

  it('passes when every GPU ran at the same time, with the overlap and each execution time', () => {
    const outcome = judgeParallelism(onGpus([0, 200], [5, 210], [8, 205], [12, 220]), 4);
    expect(outcome.status).toBe('PASS');
    expect(outcome.detail).toContain('overlapped for 188 ms');
    expect(outcome.detail).toContain('GPU 3 208 ms');
  });

  it('fails prompts that ran one after another (one pair apart is enough) and says what to check', () => {
    const outcome = judgeParallelism(onGpus([0, 200], [5, 210], [8, 205], [230, 430]), 4);
    expect(outcome.status).toBe('FAIL');
    expect(outcome.detail).toContain('the last started 30 ms after the first ended');
    expect(outcome.hint).toBe('prompts ran one after another: is COMFY_MULTI_GPU_SCHED=1 set and does nvidia-smi show 4 GPUs in the pod?');
  });

  it('fails, naming the prompt, when history carries no timestamps', () => {
    const outcome = judgeParallelism({ prompts: [{ gpu: 0, prompt: prompt('p0', { history: { outputs: {} } }) }] }, 2);
    expect(outcome.status).toBe('FAIL');
    expect(outcome.detail).toContain('prompt p0 has no execution_start/execution_success timestamps');
  });
});

describe('ram-sharing verdict', () => {
  const scrape = (reads: number, hits: number, extra = '') => parsePrometheusText(
    `comfyui_weights_cache_disk_reads_total ${reads}\ncomfyui_weights_cache_ram_hits_total ${hits}\n${extra}`,
  );
  const round = (before: string | ReturnType<typeof scrape>, after: ReturnType<typeof scrape>) => ({
    prompts: [],
    metrics: { before: typeof before === 'string' ? parsePrometheusText(before) : before, after },
  });

  it('passes when the first GPU read the file and the other three hit RAM, printing cache size and RSS', () => {
    const outcome = judgeRamSharing(round(scrape(2, 5), scrape(3, 8, 'comfyui_weights_cache_bytes 6979321856\nprocess_resident_memory_bytes 1.5e10\n')), 4);
    expect(outcome.status).toBe('PASS');
    expect(outcome.detail).toBe('1 disk read, 3 RAM hits over 4 GPUs (needed >= 3); cache 6.5 GiB, RSS 14.0 GiB');
  });

  it('passes when every file was already in RAM (no reads, a hit per GPU)', () => {
    expect(judgeRamSharing(round(scrape(1, 3), scrape(1, 7)), 4).status).toBe('PASS');
  });

  it('needs (N-1) hits per file read: two files read once each need six hits on four GPUs', () => {
    expect(judgeRamSharing(round(scrape(0, 0), scrape(2, 5)), 4).status).toBe('FAIL');
    expect(judgeRamSharing(round(scrape(0, 0), scrape(2, 6)), 4).status).toBe('PASS');
  });

  it('fails when every GPU read the disk, pointing at the cache budget', () => {
    const outcome = judgeRamSharing(round(scrape(0, 0), scrape(4, 0, 'comfyui_weights_cache_bytes 1073741824\n')), 4);
    expect(outcome.status).toBe('FAIL');
    expect(outcome.hint).toContain('is COMFY_WEIGHTS_CACHE_GIB large enough');
    expect(outcome.hint).toContain('1.0 GiB');
  });

  it('fails when nothing was loaded at all', () => {
    expect(judgeRamSharing(round(scrape(1, 1), scrape(1, 1)), 4).hint).toContain('did POST /free unload the models');
  });

  it('passes a round of .safetensors loads left to mmap, which share one page-cache copy', () => {
    const mmap = (n: number) => scrape(0, 0, `comfyui_weights_cache_mmap_loads_total ${n}\n`);
    const outcome = judgeRamSharing(round(mmap(2), mmap(6)), 4);
    expect(outcome).toMatchObject({ status: 'PASS', detail: '4 .safetensors loads over 4 GPUs shared through mmap (one page-cache copy)' });
    expect(judgeRamSharing(round(mmap(2), mmap(4)), 4).status).toBe('FAIL');
  });

  it('process mode: passes while the workers share the page cache and fails a private copy per worker, naming --mmap-torch-files', () => {
    const GIB = 2 ** 30;
    const workers = (rss: number, anon: number) => parsePrometheusText('comfyui_executor_info{mode="process",comfyui_version="v0.33.0"} 1\n'
      + [0, 1, 2, 3].map((g) => `comfyui_worker_memory_bytes{gpu="${g}",kind="rss"} ${rss}\ncomfyui_worker_memory_bytes{gpu="${g}",kind="anon"} ${anon}\n`
        + `comfyui_worker_memory_bytes{gpu="${g}",kind="pss"} ${rss / 4}\n`).join(''));
    const shared = judgeRamSharing({ prompts: [], metrics: { before: workers(GIB, GIB / 2), after: workers(7 * GIB, GIB / 2) } }, 4);
    expect(shared).toMatchObject({ status: 'PASS', figures: { anonGrowthBytes: 0, largestRssGrowthBytes: 6 * GIB } });
    expect(shared.detail).toContain('summed PSS 7.0 GiB vs summed RSS 28.0 GiB over 4 workers');
    const copied = judgeRamSharing({ prompts: [], metrics: { before: workers(GIB, GIB / 2), after: workers(7 * GIB, 6.5 * GIB) } }, 4);
    expect(copied.status).toBe('FAIL');
    expect(copied.hint).toContain('--mmap-torch-files');
  });

  it('skips, with the reason, when the server has no weights-cache series or no /metrics', () => {
    const off = judgeRamSharing(round('process_resident_memory_bytes 1\n', parsePrometheusText('process_resident_memory_bytes 2\n')), 4);
    expect(off.status).toBe('SKIP');
    expect(off.detail).toContain('COMFY_WEIGHTS_CACHE_GIB=0');
    const none = judgeRamSharing({ prompts: [], metricsProblem: 'GET /metrics answered HTTP 404' }, 4);
    expect(none).toMatchObject({ status: 'SKIP', detail: 'GET /metrics answered HTTP 404, so RAM sharing cannot be seen' });
  });
});

describe('workers, bad-header, routing, isolation and throughput verdicts', () => {
  const ready = { queueStatus: 200, queues: 4, readyStatus: 200, readyReason: '4 GPUs ready' };

  it('workers: passes N ready queues; fails a count that differs from --gpus, a single queue, or /readyz with its reason', () => {
    expect(judgeWorkers(ready, 4).status).toBe('PASS');
    expect(judgeWorkers(ready, undefined).status).toBe('PASS');
    expect(judgeWorkers(ready, 8)).toMatchObject({ status: 'FAIL', detail: '4 queues, expected 8 (--gpus)' });
    expect(judgeWorkers({ ...ready, queues: 1 }, 1).hint).toContain('COMFY_MULTI_GPU_SCHED=1');
    const warming = judgeWorkers({ ...ready, readyStatus: 503, readyReason: 'GPU 2 warming up' }, 4);
    expect(warming).toMatchObject({ status: 'FAIL', detail: '/readyz answered 503: GPU 2 warming up' });
    expect(judgeWorkers({ queueStatus: 404, readyStatus: 404 }, undefined).hint).toContain('stock ComfyUI');
  });

  it('bad-header: passes two 400s naming the header; fails an accepted value or a 400 about the workflow', () => {
    const named = JSON.stringify({ error: { type: 'invalid_target_gpu', message: "X-TARGET-GPU must be an integer in 0..3, got 'abc'", header: 'X-TARGET-GPU' } });
    expect(judgeBadHeader([{ value: '4', status: 400, body: named }, { value: 'abc', status: 400, body: named }]).status).toBe('PASS');
    const accepted = judgeBadHeader([{ value: '4', status: 400, body: named }, { value: 'abc', status: 200, body: '{"prompt_id":"x"}' }]);
    expect(accepted).toMatchObject({ status: 'FAIL', detail: 'X-TARGET-GPU: abc answered HTTP 200 (the prompt was queued), expected 400' });
    const workflow = judgeBadHeader([{ value: '4', status: 400, body: JSON.stringify({ error: { message: 'Prompt outputs failed validation' } }) }]);
    expect(workflow.hint).toContain('the workflow itself was rejected');
  });

  it('header-routing: fails a prompt answered or run elsewhere, and one answered without gpu_id', () => {
    const right = [0, 1].map((gpu) => ({ gpu, prompt: prompt(`p${gpu}`, { routedGpu: gpu, executedGpu: gpu }) }));
    expect(judgeHeaderRouting(right).status).toBe('PASS');
    const moved = judgeHeaderRouting([right[0], { gpu: 1, prompt: prompt('p1', { routedGpu: 1, executedGpu: 0 }) }]);
    expect(moved).toMatchObject({ status: 'FAIL', detail: 'pinned to GPU 1: answered gpu_id 1, ran on 0' });
    expect(judgeHeaderRouting([{ gpu: 0, prompt: prompt('p0') }]).hint).toContain('answered without gpu_id');
  });

  it('queue-isolation: passes own-only queues; fails a prompt listed on the other GPU, or one missing while unfinished', () => {
    const pinned = [['a', 0], ['b', 0], ['c', 0], ['d', 1]].map(([id, gpu]) => ({ gpu: gpu as number, prompt: prompt(id as string) }));
    const isolated = { gpu0: { running: ['a'], pending: ['b', 'c'] }, gpu1: { running: ['d'], pending: [] }, endedBeforeRead: [] };
    expect(judgeQueueIsolation(pinned, isolated).status).toBe('PASS');
    const leaked = judgeQueueIsolation(pinned, { ...isolated, gpu1: { running: ['d'], pending: ['c'] } });
    expect(leaked).toMatchObject({ status: 'FAIL', detail: "GPU 1's queue listed GPU 0's prompt c" });
    expect(judgeQueueIsolation(pinned, { ...isolated, gpu0: { running: ['b'], pending: ['c'] }, endedBeforeRead: ['a'] }).status).toBe('PASS');
    expect(judgeQueueIsolation(pinned, { ...isolated, gpu0: { running: ['b'], pending: ['c'] } }).detail).toBe("GPU 0's queue lacked its unfinished prompts a");
    expect(judgeQueueIsolation(pinned, { ...isolated, gpu0: { running: [], pending: [] }, endedBeforeRead: ['a', 'b', 'c'] }).hint).toContain('slower workflow');
  });

  it('throughput: passes at the pass mark, fails below it with both rates and the speedup', () => {
    const phase = (throughput: number, perGpu: Record<string, number>) => ({ throughput, perGpu }) as unknown as PhaseSummary;
    const report = (speedup: number): BenchReport => ({ url: 'u', gpus: 4, single: phase(2, { 0: 10 }), spread: phase(2 * speedup, { 0: 10, 1: 10, 2: 10, 3: 10 }), speedup, efficiency: speedup / 4 });
    expect(judgeThroughput(report(3.5), 3.5).status).toBe('PASS');
    const slow = judgeThroughput(report(2.5), 3.5);
    expect(slow.status).toBe('FAIL');
    expect(slow.detail).toBe('1 GPU 2.00/s, 4 GPUs 5.00/s: speedup 2.50x (< 3.50x), per GPU 0:10 1:10 2:10 3:10');
  });

  it('prints one line per check: status, name, figures, and for a FAIL what to check next', () => {
    expect(formatCheckLine({ name: 'workers', status: 'PASS', detail: '4 GPU queues' })).toBe('PASS workers: 4 GPU queues');
    expect(formatCheckLine({ name: 'throughput', status: 'FAIL', detail: 'speedup 2.50x', hint: 'check routing' })).toBe('FAIL throughput: speedup 2.50x. Next: check routing');
  });
});
