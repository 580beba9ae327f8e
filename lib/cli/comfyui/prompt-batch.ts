import { randomUUID } from 'node:crypto';
import { CliError, EXIT } from '../cli-error';
import { ComfyuiClient } from './comfyui-client';
import { ProgressSocket } from './progress-socket';
import { ComfyMessage, PromptTracker } from './prompt-tracker';
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
}

/**
 * Many prompts in flight over one client id and one WebSocket. Messages that arrive before POST /prompt
 * has answered are held and replayed; if the socket drops, unfinished prompts are polled on /history.
 */
export class PromptBatch {
  readonly clientId = randomUUID();
  readonly prompts = new Map<string, BatchPrompt>();
  private readonly early = new Map<string, ComfyMessage[]>();
  private socket?: ProgressSocket;
  private onChange: () => void = () => undefined;

  private constructor(private readonly client: ComfyuiClient) {}

  /** Opens the batch's socket; without one (refused, proxied away) the batch polls /history. */
  static async open(client: ComfyuiClient, log: (line: string) => void): Promise<PromptBatch> {
    const batch = new PromptBatch(client);
    try {
      batch.socket = await ProgressSocket.open(client.websocketUrl(batch.clientId), client.headers(), 10_000);
      batch.socket.listen((message) => batch.route(message));
      void batch.socket.whenClosed().then((reason) => {
        if (batch.unfinished().length > 0) log(`progress socket ${reason}; polling /history`);
        batch.socket = undefined;
        batch.onChange();
      });
    } catch (error) {
      log(`progress socket unavailable (${(error as Error).message}); polling /history`);
    }
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
    const deadline = Date.now() + timeoutMs;
    let lastPoll = Date.now();
    while (this.unfinished().length > 0) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new CliError(`${this.unfinished().length} of ${this.prompts.size} prompts had not finished after ${Math.round(timeoutMs / 1000)} s; raise --timeout`, EXIT.timeout);
      }
      const pollEvery = this.socket ? 15_000 : 1_000;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(remaining, pollEvery));
        this.onChange = () => { clearTimeout(timer); resolve(); };
      });
      if (Date.now() - lastPoll >= pollEvery) {
        lastPoll = Date.now();
        await this.pollHistory(this.unfinished());
      }
      onProgress?.(this.prompts.size - this.unfinished().length);
    }
    this.socket?.close();
    await this.pollHistory([...this.prompts.values()]);
  }

  private async pollHistory(prompts: BatchPrompt[]): Promise<void> {
    for (const prompt of prompts) {
      const entry = await this.client.history(prompt.tracker.promptId);
      if (!entry) continue;
      if (typeof entry.gpu_id === 'number') prompt.executedGpu = entry.gpu_id;
      if (!prompt.tracker.finished) {
        prompt.tracker.applyHistory(entry);
        prompt.finishedAt = Date.now();
      }
    }
  }

  private route(message: ComfyMessage): void {
    const promptId = message.data?.prompt_id;
    if (typeof promptId !== 'string') return;
    const prompt = this.prompts.get(promptId);
    if (!prompt) {
      this.early.set(promptId, [...(this.early.get(promptId) ?? []), message]);
      return;
    }
    this.apply(prompt, message);
  }

  private apply(prompt: BatchPrompt, message: ComfyMessage): void {
    const wasRunning = prompt.tracker.phase !== 'queued';
    if (!prompt.tracker.apply(message)) return;
    const now = Date.now();
    if (!wasRunning && prompt.tracker.phase !== 'queued') prompt.startedAt = now;
    if (prompt.tracker.finished && prompt.finishedAt === undefined) {
      prompt.finishedAt = now;
      this.onChange();
    }
  }

  close(): void {
    this.socket?.close();
  }
}
