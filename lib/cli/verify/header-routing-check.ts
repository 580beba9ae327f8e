import { runPhase } from '../comfyui/run-phase';
import { CheckOutcome, fail, pass } from './check-result';
import { PinnedPrompt, VerifyContext } from './verify-context';

/** One prompt pinned to each GPU; each must be answered with that gpu_id and run there (history gpu_id). */
export async function checkHeaderRouting(ctx: VerifyContext): Promise<CheckOutcome> {
  const pinned: PinnedPrompt[] = [];
  await runPhase('header-routing', ctx.client, ctx.options, async (batch) => {
    for (let gpu = 0; gpu < ctx.gpus; gpu += 1) pinned.push({ gpu, prompt: await batch.submit(ctx.nextPrompt(), ctx.pinned(gpu)) });
  }, ctx.gpus);
  return judgeHeaderRouting(pinned);
}

export function judgeHeaderRouting(pinned: readonly PinnedPrompt[]): CheckOutcome {
  const figures = { prompts: pinned.map(({ gpu, prompt }) => ({ pinned: gpu, answered: prompt.routedGpu, ran: prompt.executedGpu })) };
  const wrong = pinned.filter(({ gpu, prompt }) => prompt.routedGpu !== gpu || prompt.executedGpu !== gpu);
  if (wrong.length === 0) return pass(`${pinned.length} prompts, each answered and run on its pinned GPU (${pinned.map((p) => p.gpu).join(', ')})`, figures);
  const said = (value?: number) => (value === undefined ? 'none' : String(value));
  const detail = wrong.map(({ gpu, prompt }) => `pinned to GPU ${gpu}: answered gpu_id ${said(prompt.routedGpu)}, ran on ${said(prompt.executedGpu)}`).join('; ');
  const unanswered = wrong.some(({ prompt }) => prompt.routedGpu === undefined);
  return fail(
    detail,
    unanswered
      ? 'POST /prompt answered without gpu_id: this is not the multi-GPU image, or COMFY_MULTI_GPU_SCHED=1 is not set'
      : 'X-TARGET-GPU was not honoured: does a proxy between comfyctl and ComfyUI rewrite it (the per-GPU nginx ports pin their own)?',
    figures,
  );
}
