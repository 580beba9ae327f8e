import { CliError, EXIT } from '../cli-error';
import { ComfyuiClient } from './comfyui-client';
import { ProgressSocket } from './progress-socket';
import { PromptTracker } from './prompt-tracker';

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
  const deadline = Date.now() + options.timeoutMs;
  const basePoll = options.pollMs ?? 1000;
  const safetyPoll = options.safetyPollMs ?? 15_000;
  let wake: () => void = () => undefined;
  const changed = () => wake();
  let socketOpen = socket !== undefined;

  socket?.listen((message) => {
    if (tracker.apply(message)) {
      options.onUpdate?.(tracker);
      changed();
    }
  });
  socket?.whenClosed().then((reason) => {
    if (!tracker.finished) options.onFallback?.(reason);
    socketOpen = false;
    changed();
  });

  let poll = basePoll;
  let lastPoll = Date.now();
  try {
    while (!tracker.finished) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new CliError(
          `prompt ${tracker.promptId} did not finish within ${options.timeoutMs / 1000} s; it is still queued or running ` +
            `on the server. Raise --timeout, or fetch its result later from /history/${tracker.promptId}`,
          EXIT.timeout,
        );
      }
      const waitMs = Math.min(remaining, socketOpen ? safetyPoll : poll);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        wake = () => { clearTimeout(timer); resolve(); };
      });
      if (tracker.finished) break;
      if (!socketOpen || Date.now() - lastPoll >= safetyPoll) {
        lastPoll = Date.now();
        const entry = await client.history(tracker.promptId);
        // ComfyUI writes a history entry only when a prompt ends (PromptQueue.task_done), failed or not.
        if (entry) {
          tracker.applyHistory(entry);
          options.onUpdate?.(tracker);
        } else if (!socketOpen) {
          poll = Math.min(poll * 1.5, basePoll * 5);
        }
      }
    }
    // The socket's `executed` messages may have missed outputs (e.g. a reconnect): history is the record.
    const entry = await client.history(tracker.promptId).catch(() => undefined);
    if (entry) tracker.applyHistory(entry);
    return tracker;
  } finally {
    socket?.close();
  }
}
