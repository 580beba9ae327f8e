import { randomUUID } from 'node:crypto';
import { CliError, EXIT } from '../cli-error';
import { ComfyuiClient, HistoryEntry } from './comfyui-client';
import { ProgressSocket } from './progress-socket';
import { ComfyMessage, PromptTracker } from './prompt-tracker';
import { PromptWaiter } from './prompt-waiter';
import { ApiWorkflow } from './workflow';

/** One prompt of a batch, with the times the benchmark needs (ms since the epoch). */
export interface BatchPrompt {
  readonly tracker: PromptTracker;
  readonly submittedAt: number;
  /** The GPU the server routed it to (multi-GPU image), then the GPU that ran it (from history). */
  routedGpu?: number;
  executedGpu?: number;
  startedAt?: number;
  finishedAt?: number;
  /** Its history entry, read once it ended (execution timestamps, outputs). */
  history?: HistoryEntry;
}

/**
 * Many prompts in flight over one client id and one WebSocket. Messages that arrive before POST /prompt
 * has answered are held and replayed; if the socket drops, unfinished prompts are polled on /history.
 */
export class PromptBatch {
  readonly clientId = randomUUID();
  readonly prompts = new Map<string, BatchPrompt>();
  private readonly early = new Map<string, ComfyMessage[]>();
  private waiter!: PromptWaiter<BatchPrompt>;

  private constructor(private readonly client: ComfyuiClient, private readonly log: (line: string) => void) {}

  /** Opens the batch's socket; without one (refused, proxied away) the batch polls /history. */
  static async open(client: ComfyuiClient, log: (line: string) => void): Promise<PromptBatch> {
    const batch = new PromptBatch(client, log);
    let socket: ProgressSocket | undefined;
    try {
      socket = await ProgressSocket.open(client.websocketUrl(batch.clientId), client.headers(), 10_000);
    } catch (error) {
      log(`progress socket unavailable (${(error as Error).message}); polling /history`);
    }
    batch.waiter = new PromptWaiter<BatchPrompt>({
      history: (promptId) => client.history(promptId),
      socket,
      onMessage: (message) => batch.route(message),
      onHistory: (prompt, entry) => batch.record(prompt, entry),
    });
    return batch;
  }

  /** Queues one workflow on this batch's client id; a `client` built with a `gpu` pins that prompt to it. */
  async submit(workflow: ApiWorkflow, client: ComfyuiClient = this.client): Promise<BatchPrompt> {
    const submittedAt = Date.now();
    const queued = await client.queuePrompt(workflow, this.clientId);
    const prompt: BatchPrompt = { tracker: new PromptTracker(queued.promptId), submittedAt, routedGpu: queued.gpuId };
    this.prompts.set(queued.promptId, prompt);
    for (const message of this.early.get(queued.promptId) ?? []) this.apply(prompt, message);
    this.early.delete(queued.promptId);
    return prompt;
  }

  unfinished(): BatchPrompt[] {
    return [...this.prompts.values()].filter((p) => !p.tracker.finished);
  }

  /** Waits until every submitted prompt has ended, then reads which GPU ran each from its history entry. */
  async waitAll(timeoutMs: number, onProgress?: (done: number) => void): Promise<void> {
    await this.waiter.wait([...this.prompts.values()], {
      timeoutMs,
      timeoutError: (unfinished) => new CliError(
        `${unfinished.length} of ${this.prompts.size} prompts had not finished after ${Math.round(timeoutMs / 1000)} s; raise --timeout`,
        EXIT.timeout,
      ),
      onFallback: (reason) => this.log(`progress socket ${reason}; polling /history`),
      onWake: () => onProgress?.(this.prompts.size - this.unfinished().length),
    });
  }

  private record(prompt: BatchPrompt, entry: HistoryEntry): void {
    prompt.history = entry;
    if (typeof entry.gpu_id === 'number') prompt.executedGpu = entry.gpu_id;
    if (!prompt.tracker.finished) {
      prompt.tracker.applyHistory(entry);
      prompt.finishedAt = Date.now();
    }
  }

  /** Applies a socket message to its prompt, or holds it until POST /prompt answers; true when a prompt ended. */
  private route(message: ComfyMessage): boolean {
    const promptId = message.data?.prompt_id;
    if (typeof promptId !== 'string') return false;
    const prompt = this.prompts.get(promptId);
    if (!prompt) {
      this.early.set(promptId, [...(this.early.get(promptId) ?? []), message]);
      return false;
    }
    return this.apply(prompt, message);
  }

  private apply(prompt: BatchPrompt, message: ComfyMessage): boolean {
    const wasRunning = prompt.tracker.phase !== 'queued';
    if (!prompt.tracker.apply(message)) return false;
    const now = Date.now();
    if (!wasRunning && prompt.tracker.phase !== 'queued') prompt.startedAt = now;
    if (prompt.tracker.finished && prompt.finishedAt === undefined) {
      prompt.finishedAt = now;
      return true;
    }
    return false;
  }

  close(): void {
    this.waiter.close();
  }
}
