import { BatchPrompt } from './prompt-batch';

export interface Percentiles {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
}

/** One benchmark phase: how many prompts, how fast, where they ran. */
export interface PhaseSummary {
  readonly label: string;
  readonly prompts: number;
  readonly failed: number;
  readonly wallSeconds: number;
  /** Finished prompts per second, from the first submission to the last completion. */
  readonly throughput: number;
  /** Submission to completion. */
  readonly latencyMs: Percentiles;
  /** First execution message to completion (what the GPU spent), where the socket reported it. */
  readonly executionMs?: Percentiles;
  /** Prompts per GPU that ran them ("?" when the server does not say: stock ComfyUI). */
  readonly perGpu: Record<string, number>;
}

export interface BenchReport {
  readonly url: string;
  readonly gpus: number;
  readonly single: PhaseSummary;
  readonly spread: PhaseSummary;
  /** spread.throughput / single.throughput. */
  readonly speedup: number;
  /** speedup / gpus. */
  readonly efficiency: number;
}

/** Nearest-rank percentile of unsorted values (0 for none). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

function percentiles(values: readonly number[]): Percentiles {
  return { p50: percentile(values, 50), p90: percentile(values, 90), p99: percentile(values, 99) };
}

/** Summarizes a finished phase. */
export function summarizePhase(label: string, prompts: readonly BatchPrompt[]): PhaseSummary {
  const first = Math.min(...prompts.map((p) => p.submittedAt));
  const last = Math.max(...prompts.map((p) => p.finishedAt ?? p.submittedAt));
  const wallSeconds = Math.max((last - first) / 1000, 1e-3);
  const succeeded = prompts.filter((p) => p.tracker.phase === 'succeeded');
  const perGpu: Record<string, number> = {};
  for (const p of succeeded) {
    const gpu = p.executedGpu ?? p.routedGpu;
    const key = gpu === undefined ? '?' : String(gpu);
    perGpu[key] = (perGpu[key] ?? 0) + 1;
  }
  const executions = succeeded.filter((p) => p.startedAt !== undefined).map((p) => p.finishedAt! - p.startedAt!);
  return {
    label,
    prompts: prompts.length,
    failed: prompts.length - succeeded.length,
    wallSeconds,
    throughput: succeeded.length / wallSeconds,
    latencyMs: percentiles(succeeded.map((p) => p.finishedAt! - p.submittedAt)),
    executionMs: executions.length === succeeded.length && executions.length > 0 ? percentiles(executions) : undefined,
    perGpu,
  };
}

export function buildReport(url: string, gpus: number, single: PhaseSummary, spread: PhaseSummary): BenchReport {
  const speedup = single.throughput > 0 ? spread.throughput / single.throughput : 0;
  return { url, gpus, single, spread, speedup, efficiency: speedup / gpus };
}

const ms = (value: number) => (value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`);

/** The report as an aligned table for a terminal. */
export function formatReport(report: BenchReport): string {
  const rows = [report.single, report.spread].map((s) => [
    s.label,
    String(s.prompts),
    String(s.failed),
    `${s.wallSeconds.toFixed(2)} s`,
    `${s.throughput.toFixed(2)}/s`,
    `${ms(s.latencyMs.p50)} / ${ms(s.latencyMs.p90)} / ${ms(s.latencyMs.p99)}`,
    s.executionMs ? `${ms(s.executionMs.p50)} / ${ms(s.executionMs.p99)}` : 'n/a',
    Object.entries(s.perGpu).sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })).map(([g, n]) => `${g}:${n}`).join(' '),
  ]);
  const header = ['phase', 'prompts', 'failed', 'wall', 'throughput', 'latency p50/p90/p99', 'exec p50/p99', 'per GPU'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [
    `benchmark of ${report.url} (${report.gpus} GPU${report.gpus === 1 ? '' : 's'})`,
    line(header),
    ...rows.map(line),
    `speedup ${report.speedup.toFixed(2)}x on ${report.gpus} GPUs (efficiency ${(report.efficiency * 100).toFixed(0)}%)`,
  ].join('\n');
}
