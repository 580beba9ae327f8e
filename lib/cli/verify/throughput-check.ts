import { BenchReport } from '../comfyui/bench-report';
import { runBench } from '../comfyui/run-bench';
import { CheckOutcome, fail, pass } from './check-result';
import { VerifyContext } from './verify-context';

/** Throughput's pass mark when --min-speedup is not given: 3.5x for 4 GPUs, the acceptance target. */
export const DEFAULT_EFFICIENCY = 0.875;

/** bench's phases (M prompts pinned to GPU 0, then M x N routed by the server), judged against the pass mark. */
export async function checkThroughput(ctx: VerifyContext, warmup: boolean): Promise<CheckOutcome> {
  const { endpoint, prompts, workflowFile, overrides, timeoutMs, quiet, log } = ctx.options;
  const report = await runBench({ endpoint, gpus: ctx.gpus, prompts, workflowFile, overrides, warmup, timeoutMs, quiet, log });
  return judgeThroughput(report, ctx.options.minSpeedup ?? DEFAULT_EFFICIENCY * ctx.gpus);
}

export function judgeThroughput(report: BenchReport, minSpeedup: number): CheckOutcome {
  const { single, spread, speedup } = report;
  const perGpu = Object.entries(spread.perGpu).map(([gpu, n]) => `${gpu}:${n}`).join(' ');
  const detail = `1 GPU ${single.throughput.toFixed(2)}/s, ${report.gpus} GPUs ${spread.throughput.toFixed(2)}/s: ` +
    `speedup ${speedup.toFixed(2)}x (${speedup >= minSpeedup ? '>=' : '<'} ${minSpeedup.toFixed(2)}x), per GPU ${perGpu}`;
  const figures = { minSpeedup, speedup, singlePerSecond: single.throughput, spreadPerSecond: spread.throughput, perGpu: spread.perGpu };
  if (speedup >= minSpeedup) return pass(detail, figures);
  return fail(
    detail,
    'the GPUs did not scale: are the per-GPU counts even (else check routing), are the GPUs throttled (nvidia-smi -q -d PERFORMANCE), ' +
      'and is the workflow GPU-bound (CPU-heavy custom nodes serialize)?',
    figures,
  );
}
