import { CliError, EXIT } from '../cli-error';
import { ComfyuiClient } from './comfyui-client';
import { ProgressSocket } from './progress-socket';
import { PromptTracker } from './prompt-tracker';
import { PromptWaiter } from './prompt-waiter';

export interface FollowOptions {
  /** Give up after this long (the prompt keeps running on the server). */
  readonly timeoutMs: number;
  /** Milliseconds between /history polls once the socket is gone; grows to 5x. @default 1000 */
  readonly pollMs?: number;
  /** Even with a healthy socket, check /history this often, in case the socket went silent. @default 15000 */
  readonly safetyPollMs?: number;
  /** Called after every change (progress bar). */
  readonly onUpdate?: (tracker: PromptTracker) => void;
  /** Called once if the socket drops and polling takes over. */
  readonly onFallback?: (reason: string) => void;
}

/**
 * Follows one prompt to its end over the WebSocket (messages filtered by its prompt_id), falling back to
 * polling `/history/{id}` if the socket drops or never opened, then reads the history entry for the
 * authoritative list of outputs. Resolves with the finished tracker; rejects with a CliError on timeout.
 */
export async function followPrompt(client: ComfyuiClient, socket: ProgressSocket | undefined, tracker: PromptTracker, options: FollowOptions): Promise<PromptTracker> {
  const update = () => options.onUpdate?.(tracker);
  const waiter = new PromptWaiter<{ tracker: PromptTracker }>({
    history: (promptId) => client.history(promptId),
    socket,
    onMessage: (message) => {
      if (!tracker.apply(message)) return false;
      update();
      return true;
    },
    onHistory: (_prompt, entry) => {
      tracker.applyHistory(entry);
      update();
    },
    pollMs: options.pollMs,
    safetyPollMs: options.safetyPollMs,
  });
  await waiter.wait([{ tracker }], {
    timeoutMs: options.timeoutMs,
    timeoutError: () => new CliError(
      `prompt ${tracker.promptId} did not finish within ${options.timeoutMs / 1000} s; it is still queued or running ` +
        `on the server. Raise --timeout, or fetch its result later from /history/${tracker.promptId}`,
      EXIT.timeout,
    ),
    onFallback: options.onFallback,
  });
  return tracker;
}
