import { HistoryEntry } from '../comfyui/comfyui-client';
import { CheckOutcome, fail, pass } from './check-result';
import { ParallelRound } from './verify-context';

/** When one GPU ran one prompt: its history's execution_start and execution_success timestamps (ms). */
export interface ExecutionInterval {
  readonly gpu: number;
  readonly startMs: number;
  readonly endMs: number;
}

/** The execution_start .. execution_success timestamps of a history entry, or undefined when it lacks them. */
export function executionTimes(entry: HistoryEntry | undefined): { startMs: number; endMs: number } | undefined {
  const at = (type: string) => {
    const data = entry?.status?.messages?.find(([t]) => t === type)?.[1];
    return typeof data?.timestamp === 'number' ? data.timestamp : undefined;
  };
  const startMs = at('execution_start');
  const endMs = at('execution_success');
  return startMs === undefined || endMs === undefined ? undefined : { startMs, endMs };
}

/** How long every interval ran at once: min(end) - max(start); zero or less when they did not all overlap. */
export function commonOverlapMs(intervals: readonly ExecutionInterval[]): number {
  if (intervals.length === 0) return 0;
  return Math.min(...intervals.map((i) => i.endMs)) - Math.max(...intervals.map((i) => i.startMs));
}

/** PASS when all N executions overlap (max start < min end). */
export function judgeParallelism(round: ParallelRound, gpus: number): CheckOutcome {
  const intervals: ExecutionInterval[] = [];
  for (const { gpu, prompt } of round.prompts) {
    const times = executionTimes(prompt.history);
    if (!times) {
      return fail(
        `the history of prompt ${prompt.tracker.promptId} has no execution_start/execution_success timestamps`,
        'the server is not the ComfyUI version the image pins: check the image tag the pod runs',
      );
    }
    intervals.push({ gpu: prompt.executedGpu ?? gpu, ...times });
  }
  const overlapMs = commonOverlapMs(intervals);
  const each = [...intervals].sort((a, b) => a.gpu - b.gpu).map((i) => `GPU ${i.gpu} ${i.endMs - i.startMs} ms`).join(', ');
  const figures = { overlapMs, executionMs: Object.fromEntries(intervals.map((i) => [i.gpu, i.endMs - i.startMs])) };
  if (overlapMs > 0) return pass(`all ${intervals.length} executions overlapped for ${overlapMs} ms, after POST /free (${each})`, figures);
  return fail(
    `the ${intervals.length} executions did not all overlap: the last started ${-overlapMs} ms after the first ended (${each})`,
    `prompts ran one after another: is COMFY_MULTI_GPU_SCHED=1 set and does nvidia-smi show ${gpus} GPUs in the pod?`,
    figures,
  );
}
