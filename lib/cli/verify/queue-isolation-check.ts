import { ComfyuiClient } from '../comfyui/comfyui-client';
import { runPhase } from '../comfyui/run-phase';
import { CheckOutcome, fail, pass } from './check-result';
import { PinnedPrompt, VerifyContext } from './verify-context';

/** GPU 0's and GPU 1's queues as GET /queue with X-TARGET-GPU listed them, read while the prompts waited. */
export interface QueueSnapshot {
  readonly gpu0: QueueIds;
  readonly gpu1: QueueIds;
  /** GPU 0 prompts absent from its queue that had a history entry right after (they had ended). */
  readonly endedBeforeRead: readonly string[];
}

export interface QueueIds {
  readonly running: readonly string[];
  readonly pending: readonly string[];
}

/** 3 prompts pinned to GPU 0 and 1 to GPU 1 at once; while they wait, each GPU's queue must list only its own. */
export async function checkQueueIsolation(ctx: VerifyContext): Promise<CheckOutcome> {
  const pinned: PinnedPrompt[] = [];
  let snapshot: QueueSnapshot | undefined;
  await runPhase('queue-isolation', ctx.client, ctx.options, async (batch) => {
    pinned.push(...(await Promise.all([0, 0, 0, 1].map(async (gpu) => ({ gpu, prompt: await batch.submit(ctx.nextPrompt(), ctx.pinned(gpu)) })))));
    const [gpu0, gpu1] = await Promise.all([readQueue(ctx.pinned(0)), readQueue(ctx.pinned(1))]);
    // A prompt missing from GPU 0's queue must have ended: the server writes history before it leaves the queue.
    const listed = new Set([...gpu0.running, ...gpu0.pending]);
    const absent = pinned.filter((p) => p.gpu === 0 && !listed.has(p.prompt.tracker.promptId)).map((p) => p.prompt.tracker.promptId);
    const ended = await Promise.all(absent.map(async (id) => ((await ctx.client.history(id)) ? id : undefined)));
    snapshot = { gpu0, gpu1, endedBeforeRead: ended.filter((id): id is string => id !== undefined) };
  }, 4);
  return judgeQueueIsolation(pinned, snapshot!);
}

/** The prompt ids of one GPU's queue (GET /queue in ComfyUI's shape: items are [number, prompt_id, ...]). */
export async function readQueue(pinned: ComfyuiClient): Promise<QueueIds> {
  const response = await pinned.send('GET', 'queue');
  const body = (await response.json().catch(() => ({}))) as { queue_running?: unknown; queue_pending?: unknown };
  const ids = (items: unknown) => (Array.isArray(items) ? items.map((item) => (Array.isArray(item) ? item[1] : undefined)).filter((id): id is string => typeof id === 'string') : []);
  return { running: ids(body.queue_running), pending: ids(body.queue_pending) };
}

export function judgeQueueIsolation(pinned: readonly PinnedPrompt[], snapshot: QueueSnapshot): CheckOutcome {
  const idsOn = (gpu: number) => pinned.filter((p) => p.gpu === gpu).map((p) => p.prompt.tracker.promptId);
  const [own0, own1] = [idsOn(0), idsOn(1)];
  const listed0 = new Set([...snapshot.gpu0.running, ...snapshot.gpu0.pending]);
  const listed1 = new Set([...snapshot.gpu1.running, ...snapshot.gpu1.pending]);
  const shown0 = own0.filter((id) => listed0.has(id));
  const figures = {
    gpu0: { prompts: own0.length, running: own0.filter((id) => snapshot.gpu0.running.includes(id)).length, pending: own0.filter((id) => snapshot.gpu0.pending.includes(id)).length },
    gpu1: { prompts: own1.length, listedOfGpu0: own0.filter((id) => listed1.has(id)).length },
  };
  const leaked = [...own0.filter((id) => listed1.has(id)).map((id) => `GPU 1's queue listed GPU 0's prompt ${id}`), ...own1.filter((id) => listed0.has(id)).map((id) => `GPU 0's queue listed GPU 1's prompt ${id}`)];
  if (leaked.length > 0) {
    return fail(leaked.join('; '), 'GET /queue ignores X-TARGET-GPU: is this the multi-GPU image, and does no proxy strip the header?', figures);
  }
  const missing = own0.filter((id) => !listed0.has(id) && !snapshot.endedBeforeRead.includes(id));
  if (missing.length > 0) {
    return fail(`GPU 0's queue lacked its unfinished prompts ${missing.join(', ')}`, 'prompts pinned to GPU 0 were queued elsewhere: check header-routing first', figures);
  }
  if (shown0.length === 0) {
    return fail(`all ${own0.length} prompts on GPU 0 ended before the queues could be read, so isolation was not seen`, 'use a slower workflow (more --steps)', figures);
  }
  return pass(
    `with ${own0.length} prompts on GPU 0 (${figures.gpu0.running} running, ${figures.gpu0.pending} pending when read) and ${own1.length} on GPU 1, ` +
      `GPU 0's queue listed ${shown0.length} of its own and GPU 1's none of them`,
    figures,
  );
}
