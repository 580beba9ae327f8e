import { CliError, EXIT } from '../cli-error';
import { startProgress } from '../progress';
import { ComfyuiClient } from './comfyui-client';
import { BatchPrompt, PromptBatch } from './prompt-batch';

/** How a phase waits and reports. */
export interface PhaseOptions {
  /** Limit for the whole phase to end. */
  readonly timeoutMs: number;
  /** No progress display. */
  readonly quiet: boolean;
  /** Status lines for the user (stderr). */
  readonly log: (line: string) => void;
}

/**
 * One round of prompts over one batch (one socket): `submitAll` queues them (and may look at the server while
 * they are queued), then the phase waits for all with a progress display titled `label`. Returns the prompts
 * in submission order; rejects with an execution error if any did not succeed.
 */
export async function runPhase(label: string, client: ComfyuiClient, options: PhaseOptions, submitAll: (batch: PromptBatch) => Promise<void>, count: number): Promise<BatchPrompt[]> {
  const batch = await PromptBatch.open(client, options.log);
  const bar = startProgress({ title: label, total: count, silent: options.quiet });
  try {
    await submitAll(batch);
    await batch.waitAll(options.timeoutMs, (done) => bar.update(done));
    bar.update(count);
  } finally {
    bar.stop();
    batch.close();
  }
  const prompts = [...batch.prompts.values()];
  const failed = prompts.filter((p) => p.tracker.phase !== 'succeeded');
  if (failed.length > 0) {
    const first = failed[0].tracker;
    throw new CliError(
      `${failed.length} of ${prompts.length} prompts in phase "${label}" did not succeed; first: ${first.promptId} ${first.phase}: ${first.failure?.message ?? ''}`,
      EXIT.execution,
    );
  }
  return prompts;
}
