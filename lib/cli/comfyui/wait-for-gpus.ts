import { CliError, EXIT } from '../cli-error';
import { ComfyuiClient } from './comfyui-client';

/**
 * Waiting for GPUs that start from zero (docs/scaling-design.md section 4): while no ComfyUI pod answers, a GET
 * through the edge fails over to the wake page, which counts the visit as demand and answers 503 with Retry-After and
 * `{"error": {"type": "gpus_starting", ...}}`. A POST does not fail over (it would get the ALB's bare 503), so a
 * client asks with a GET first and posts once ComfyUI answers.
 */

/** How long `comfyctl invoke` waits by default: a cold start is about 6 minutes (README), with room for a slow one. */
export const DEFAULT_WAKE_TIMEOUT_MS = 15 * 60_000;
/** Longest pause between two asks, whatever Retry-After says: the wait stays responsive and the visits keep coming. */
const MAX_PAUSE_SECONDS = 60;

export interface WaitForGpusOptions {
  /** Give up after this long. */
  readonly timeoutMs: number;
  /** Progress lines (stderr). */
  readonly log: (line: string) => void;
  /** @default real time */
  readonly clock?: { now(): number; sleep(ms: number): Promise<void> };
}

/** What one answer of the probe means: up (anything else than 503 + Retry-After) or starting, with its pause. */
export interface WakeProbe {
  readonly starting: boolean;
  readonly retryAfterSeconds: number;
  readonly estimateMinutes?: number;
}

const realClock = { now: () => Date.now(), sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)) };

/**
 * Asks `GET system_stats` (ComfyUI's cheapest read, served as /system_stats and /api/system_stats) until it is not a
 * 503 with Retry-After, logging how long it has waited; a CliError naming what to do when `timeoutMs` passes. Returns
 * the milliseconds waited (0 when ComfyUI answered at once).
 */
export async function waitForGpus(client: ComfyuiClient, options: WaitForGpusOptions): Promise<number> {
  const clock = options.clock ?? realClock;
  const started = clock.now();
  for (;;) {
    const response = await client.send('GET', 'system_stats', { headers: { Accept: 'application/json' } });
    const probe = readWakeProbe(response.status, response.headers.get('retry-after'), await response.text().catch(() => ''));
    const waited = clock.now() - started;
    if (!probe.starting) return waited;
    if (waited >= options.timeoutMs) {
      throw new CliError(
        `GPUs did not start within ${options.timeoutMs < 60_000 ? `${options.timeoutMs / 1000} s` : formatDuration(options.timeoutMs)}: ${client.baseUrl} still answers 503 (GPUs starting). ` +
          "Run 'comfyctl doctor' to see why (GPU capacity, node launch, the ComfyUI pods), or wait longer with --wake-timeout",
        EXIT.timeout,
      );
    }
    const about = probe.estimateMinutes === undefined ? '' : `, about ${probe.estimateMinutes} min`;
    options.log(`GPUs starting, waited ${formatDuration(waited)}${about}`);
    const pause = Math.min(probe.retryAfterSeconds * 1000, options.timeoutMs - waited);
    await clock.sleep(Math.max(0, pause));
  }
}

/** Pure: a 503 with a Retry-After in seconds means "starting"; the wake page's JSON adds the estimate. */
export function readWakeProbe(status: number, retryAfter: string | null, body: string): WakeProbe {
  const seconds = retryAfter !== null && /^\s*\d+\s*$/.test(retryAfter) ? Number(retryAfter) : undefined;
  if (status !== 503 || seconds === undefined) return { starting: false, retryAfterSeconds: 0 };
  let estimateMinutes: number | undefined;
  try {
    const error = JSON.parse(body)?.error;
    const match = error?.type === 'gpus_starting' ? /about (\d+) minute/.exec(String(error.message)) : null;
    if (match) estimateMinutes = Number(match[1]);
  } catch {
    // Not the wake page's JSON (a 503 from elsewhere with Retry-After): wait all the same, without an estimate.
  }
  return { starting: true, retryAfterSeconds: Math.min(seconds, MAX_PAUSE_SECONDS), estimateMinutes };
}

/** `45s`, `1m20s`, `15m00s`. */
export function formatDuration(ms: number): string {
  const total = Math.floor(ms / 1000);
  if (total < 60) return `${total}s`;
  return `${Math.floor(total / 60)}m${String(total % 60).padStart(2, '0')}s`;
}
