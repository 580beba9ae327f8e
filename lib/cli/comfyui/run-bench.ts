import { BenchReport, PhaseSummary, buildReport, summarizePhase } from './bench-report';
import { ComfyuiClient, ComfyuiEndpoint } from './comfyui-client';
import { PromptBatch } from './prompt-batch';
import { PhaseOptions, runPhase } from './run-phase';
import { seededPrompts } from './seeded-prompts';
import { WorkflowOverrides } from './workflow-overrides';

export interface BenchOptions extends PhaseOptions {
  readonly endpoint: ComfyuiEndpoint;
  /** GPUs to spread over; undefined: ask the server (GET /queue/all, then /system_stats). */
  readonly gpus?: number;
  /** Prompts in the one-GPU phase; the spread phase runs prompts x gpus. */
  readonly prompts: number;
  readonly workflowFile: string;
  readonly overrides: WorkflowOverrides;
  /** One prompt per GPU first, not timed, so model loads do not count. */
  readonly warmup: boolean;
}

/**
 * The multi-GPU acceptance benchmark: M prompts pinned to GPU 0, then M x N prompts routed by the server
 * across N GPUs. Every prompt gets its own seed, so ComfyUI's output cache cannot answer any of them.
 */
export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const client = new ComfyuiClient(options.endpoint);
  const gpus = options.gpus ?? (await detectGpus(client));
  const nextPrompt = seededPrompts(options.workflowFile, options.overrides);
  const pinned = (gpu: number) => new ComfyuiClient({ ...options.endpoint, gpu });
  options.log(`benchmark: ${options.prompts} prompts on GPU 0, then ${options.prompts * gpus} across ${gpus} GPUs`);

  if (options.warmup) {
    await runPhase('warmup', client, options, async (batch) => {
      for (let gpu = 0; gpu < gpus; gpu += 1) await batch.submit(nextPrompt(), pinned(gpu));
    }, gpus);
  }
  const single = await timedPhase('1 GPU', client, options, async (batch) => {
    const gpu0 = pinned(0);
    for (let i = 0; i < options.prompts; i += 1) await batch.submit(nextPrompt(), gpu0);
  }, options.prompts);
  const spread = await timedPhase(`${gpus} GPUs`, client, options, async (batch) => {
    for (let i = 0; i < options.prompts * gpus; i += 1) await batch.submit(nextPrompt());
  }, options.prompts * gpus);
  if (Object.keys(spread.perGpu).includes('?')) {
    options.log('the server did not say which GPU ran each prompt (not the multi-GPU image?): per-GPU counts are unknown');
  }
  return buildReport(client.baseUrl.toString(), gpus, single, spread);
}

async function timedPhase(label: string, client: ComfyuiClient, options: PhaseOptions, submitAll: (batch: PromptBatch) => Promise<void>, count: number): Promise<PhaseSummary> {
  return summarizePhase(label, await runPhase(label, client, options, submitAll, count));
}

/** GPUs of the server: the multi-GPU image's /queue/all, else the CUDA devices of /system_stats, else 1. */
export async function detectGpus(client: ComfyuiClient): Promise<number> {
  const queues = await client.send('GET', 'queue/all');
  if (queues.ok) {
    const body = (await queues.json().catch(() => undefined)) as { queues?: unknown[] } | undefined;
    if (Array.isArray(body?.queues) && body.queues.length > 0) return body.queues.length;
  }
  const stats = await client.send('GET', 'system_stats');
  if (stats.ok) {
    const body = (await stats.json().catch(() => undefined)) as { devices?: { type?: string }[] } | undefined;
    const gpus = (body?.devices ?? []).filter((d) => d.type !== 'cpu').length;
    if (gpus > 0) return gpus;
  }
  return 1;
}
