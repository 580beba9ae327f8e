import { CliError } from '../cli-error';
import { HistoryEntry } from './comfyui-client';
import { ComfyMessage, PromptTracker } from './prompt-tracker';

/** What the waiter needs of a progress socket: ProgressSocket, or a fake in tests. */
export interface MessageSource {
  listen(listener: (message: ComfyMessage) => void): void;
  whenClosed(): Promise<string>;
  close(): void;
}

/** A prompt the waiter follows: anything that carries a tracker. */
export interface WaitedPrompt {
  readonly tracker: PromptTracker;
}

export interface PromptWaiterProps<P extends WaitedPrompt> {
  /** GET /history/{id}: undefined until the prompt has ended (ComfyUI writes the entry in task_done). */
  readonly history: (promptId: string) => Promise<HistoryEntry | undefined>;
  /** The progress socket; without one (refused, proxied away) the waiter polls /history from the start. */
  readonly socket?: MessageSource;
  /** Applies one socket message; returns true when the loop should look again (a prompt changed or ended). */
  readonly onMessage: (message: ComfyMessage) => boolean;
  /** Applies a prompt's history entry, read while polling and once more at the end (the authoritative record). */
  readonly onHistory: (prompt: P, entry: HistoryEntry) => void;
  /** Milliseconds between /history polls once the socket is gone; grows 1.5x per empty poll, up to 5x. @default 1000 */
  readonly pollMs?: number;
  /** Even with a healthy socket, check /history this often, in case the socket went silent. @default 15000 */
  readonly safetyPollMs?: number;
}

export interface WaitOptions<P extends WaitedPrompt> {
  /** Give up after this long (the prompts keep running on the server). */
  readonly timeoutMs: number;
  /** The error thrown at the deadline; it names what is still unfinished in the caller's words. */
  readonly timeoutError: (unfinished: readonly P[]) => CliError;
  /** Called once if the socket drops while prompts are unfinished; polling takes over. */
  readonly onFallback?: (reason: string) => void;
  /** Called after every look (a change, a poll): progress displays. */
  readonly onWake?: () => void;
}

/**
 * The one wait loop for prompts followed over ComfyUI's progress socket: it sleeps until a message changes
 * something, polls `/history/{id}` of unfinished prompts when the socket is gone (and now and then while it is
 * open, in case it went silent), enforces the deadline, closes the socket, and finally reads every prompt's
 * history entry. What a message or an entry means for a prompt is the caller's (`onMessage`, `onHistory`).
 */
export class PromptWaiter<P extends WaitedPrompt> {
  private readonly basePollMs: number;
  private readonly safetyPollMs: number;
  private closeReason?: string;
  private wake: () => void = () => undefined;

  constructor(private readonly props: PromptWaiterProps<P>) {
    this.basePollMs = props.pollMs ?? 1000;
    this.safetyPollMs = props.safetyPollMs ?? 15_000;
    props.socket?.listen((message) => {
      if (props.onMessage(message)) this.wake();
    });
    void props.socket?.whenClosed().then((reason) => {
      this.closeReason = reason;
      this.wake();
    });
  }

  private get socketOpen(): boolean {
    return this.props.socket !== undefined && this.closeReason === undefined;
  }

  /** Resolves once every prompt has ended and its history entry was read; rejects with `timeoutError` at the deadline. */
  async wait(prompts: readonly P[], options: WaitOptions<P>): Promise<void> {
    const deadline = Date.now() + options.timeoutMs;
    const unfinished = () => prompts.filter((p) => !p.tracker.finished);
    let pollMs = this.basePollMs;
    let lastPoll = Date.now();
    let fellBack = false;
    try {
      while (unfinished().length > 0) {
        if (this.closeReason !== undefined && !fellBack) {
          fellBack = true;
          options.onFallback?.(this.closeReason);
        }
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw options.timeoutError(unfinished());
        await this.sleep(Math.min(remaining, this.socketOpen ? this.safetyPollMs : pollMs));
        if (unfinished().length > 0 && (!this.socketOpen || Date.now() - lastPoll >= this.safetyPollMs)) {
          lastPoll = Date.now();
          const ended = await this.readHistory(unfinished());
          // Polls back off while nothing ends; an ending means more may follow soon.
          if (ended > 0) pollMs = this.basePollMs;
          else if (!this.socketOpen) pollMs = Math.min(pollMs * 1.5, this.basePollMs * 5);
        }
        options.onWake?.();
      }
    } finally {
      this.close();
    }
    // The socket's messages may have missed outputs or the GPU that ran a prompt: history is the record.
    // Best effort: the prompts have ended, so a failed read here loses detail, not the result.
    await this.readHistory(prompts, true);
  }

  /** Closes the socket (the waiter is done, or its caller gave up before waiting). */
  close(): void {
    this.props.socket?.close();
  }

  /** Reads and applies the history entries of `prompts`; returns how many had one. */
  private async readHistory(prompts: readonly P[], bestEffort = false): Promise<number> {
    let found = 0;
    for (const prompt of prompts) {
      const read = this.props.history(prompt.tracker.promptId);
      const entry = await (bestEffort ? read.catch(() => undefined) : read);
      if (!entry) continue;
      found += 1;
      this.props.onHistory(prompt, entry);
    }
    return found;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => { clearTimeout(timer); resolve(); };
    });
  }
}
