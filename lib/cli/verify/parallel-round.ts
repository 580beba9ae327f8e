import { CliError, EXIT } from '../cli-error';
import { ComfyuiClient } from '../comfyui/comfyui-client';
import { runPhase } from '../comfyui/run-phase';
import { PrometheusSample, parsePrometheusText } from './prometheus-text';
import { ParallelRound, PinnedPrompt, VerifyContext } from './verify-context';

/** What verify says before it frees the models: users of the node would see their next prompt reload them. */
export const FREES_MODELS_NOTE = "freeing every GPU's models (POST /free) so the next loads are real; run verify before opening the node to users";

/**
 * Unloads every GPU's models, scrapes /metrics, submits one prompt pinned to each GPU at the same moment,
 * waits for all, and scrapes again: parallelism judges the execution times, ram-sharing the scrapes.
 */
export async function runParallelRound(ctx: VerifyContext): Promise<ParallelRound> {
  ctx.options.log(`parallelism: ${FREES_MODELS_NOTE}`);
  const freed = await ctx.client.send('POST', 'free', { body: JSON.stringify({ unload_models: true, free_memory: true }) });
  if (!freed.ok) throw new CliError(`POST /free answered HTTP ${freed.status}, so the models could not be unloaded first`, EXIT.failure);
  const before = await scrapeMetrics(ctx.client);
  const prompts: PinnedPrompt[] = [];
  await runPhase('parallelism', ctx.client, ctx.options, async (batch) => {
    const gpus = Array.from({ length: ctx.gpus }, (_, gpu) => gpu);
    prompts.push(...(await Promise.all(gpus.map(async (gpu) => ({ gpu, prompt: await batch.submit(ctx.nextPrompt(), ctx.pinned(gpu)) })))));
  }, ctx.gpus);
  const after = await scrapeMetrics(ctx.client);
  if (typeof before === 'string' || typeof after === 'string') {
    return { prompts, metricsProblem: typeof before === 'string' ? before : (after as string) };
  }
  return { prompts, metrics: { before, after } };
}

/** GET /metrics as samples, or why there are none. */
async function scrapeMetrics(client: ComfyuiClient): Promise<PrometheusSample[] | string> {
  const response = await client.send('GET', 'metrics');
  if (!response.ok) return `GET /metrics answered HTTP ${response.status}`;
  return parsePrometheusText(await response.text());
}
