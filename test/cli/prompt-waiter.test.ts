import { describe, expect, it, vi } from 'vitest';
import { CliError, EXIT } from '../../lib/cli/cli-error';
import { HistoryEntry } from '../../lib/cli/comfyui/comfyui-client';
import { ComfyMessage, PromptTracker } from '../../lib/cli/comfyui/prompt-tracker';
import { MessageSource, PromptWaiter, PromptWaiterProps } from '../../lib/cli/comfyui/prompt-waiter';

/** A progress socket driven by the test: `emit` delivers a message, `drop` closes it with a reason. */
class FakeSocket implements MessageSource {
  closed = false;
  private listener?: (message: ComfyMessage) => void;
  private dropped?: (reason: string) => void;
  private readonly closedPromise = new Promise<string>((resolve) => { this.dropped = resolve; });
  listen(listener: (message: ComfyMessage) => void): void { this.listener = listener; }
  whenClosed(): Promise<string> { return this.closedPromise; }
  close(): void { this.closed = true; }
  emit(type: string, data: Record<string, unknown>): void { this.listener?.({ type, data }); }
  drop(reason: string): void { this.dropped?.(reason); }
}

const succeeded: HistoryEntry = { outputs: { 9: { images: [{ filename: 'a.png', subfolder: '', type: 'output' }] } }, status: { status_str: 'success', messages: [['execution_success', {}]] } };
const later = (ms: number, action: () => void) => setTimeout(action, ms);
const timeoutError = (unfinished: readonly { tracker: PromptTracker }[]) => new CliError(`still running: ${unfinished.map((p) => p.tracker.promptId).join(',')}`, EXIT.timeout);

function waiterFor(tracker: PromptTracker, props: Partial<PromptWaiterProps<{ tracker: PromptTracker }>>) {
  return new PromptWaiter<{ tracker: PromptTracker }>({
    history: async () => undefined,
    onMessage: (message) => tracker.apply(message),
    onHistory: (_prompt, entry) => tracker.applyHistory(entry),
    pollMs: 5,
    safetyPollMs: 60_000,
    ...props,
  });
}

describe('prompt waiter (the one wait loop of invoke and bench)', () => {
  it('ends on the socket message that finishes the prompt, reads history once for the record, and closes the socket', async () => {
    const tracker = new PromptTracker('p');
    const socket = new FakeSocket();
    const history = vi.fn(async () => succeeded);
    const waiter = waiterFor(tracker, { socket, history });
    later(20, () => socket.emit('execution_success', { prompt_id: 'p' }));
    await waiter.wait([{ tracker }], { timeoutMs: 5_000, timeoutError });
    expect(tracker.phase).toBe('succeeded');
    expect(history).toHaveBeenCalledTimes(1);
    expect(tracker.outputFiles().map((f) => f.filename)).toEqual(['a.png']);
    expect(socket.closed).toBe(true);
  });

  it('tells the caller once when the socket drops, then finishes from the /history entry', async () => {
    const tracker = new PromptTracker('p');
    const socket = new FakeSocket();
    let polls = 0;
    const history = async () => (++polls >= 3 ? succeeded : undefined);
    const onFallback = vi.fn();
    const waiter = waiterFor(tracker, { socket, history });
    later(10, () => socket.drop('closed (code 1006)'));
    await waiter.wait([{ tracker }], { timeoutMs: 5_000, timeoutError, onFallback });
    expect(onFallback).toHaveBeenCalledTimes(1);
    expect(onFallback).toHaveBeenCalledWith('closed (code 1006)');
    expect(tracker.phase).toBe('succeeded');
  });

  it('says nothing about a fallback when the socket closes after every prompt ended', async () => {
    const tracker = new PromptTracker('p');
    const socket = new FakeSocket();
    const onFallback = vi.fn();
    const waiter = waiterFor(tracker, { socket });
    later(5, () => socket.emit('execution_success', { prompt_id: 'p' }));
    await waiter.wait([{ tracker }], { timeoutMs: 5_000, timeoutError, onFallback });
    socket.drop('closed (code 1000)');
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(onFallback).not.toHaveBeenCalled();
  });

  it('throws the caller\'s timeout error, naming only the unfinished prompts, at the deadline', async () => {
    const done = new PromptTracker('done');
    done.phase = 'succeeded';
    const stuck = new PromptTracker('stuck');
    const waiter = waiterFor(stuck, {});
    const started = Date.now();
    await expect(waiter.wait([{ tracker: done }, { tracker: stuck }], { timeoutMs: 60, timeoutError })).rejects.toThrow('still running: stuck');
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
  });

  it('backs off its /history polls while nothing ends (1.5x per empty poll, up to 5x)', async () => {
    const tracker = new PromptTracker('p');
    const history = vi.fn(async () => undefined);
    const waiter = waiterFor(tracker, { history, pollMs: 10 });
    await expect(waiter.wait([{ tracker }], { timeoutMs: 200, timeoutError })).rejects.toThrow(CliError);
    // Every 10 ms would be about 20 polls; 10, 15, 22.5, 33.75, 50, 50 ... ms is about 6.
    expect(history.mock.calls.length).toBeLessThan(10);
    expect(history.mock.calls.length).toBeGreaterThanOrEqual(2);
  });

  it('keeps a prompt that ended even when the final /history read fails', async () => {
    const tracker = new PromptTracker('p');
    const socket = new FakeSocket();
    const history = async (): Promise<HistoryEntry | undefined> => { throw new CliError('cannot reach the server', EXIT.unreachable); };
    const waiter = waiterFor(tracker, { socket, history });
    later(5, () => socket.emit('execution_success', { prompt_id: 'p' }));
    await waiter.wait([{ tracker }], { timeoutMs: 5_000, timeoutError });
    expect(tracker.phase).toBe('succeeded');
  });
});
