import { formatBytes } from '../progress';
import { CheckOutcome, fail, pass } from './check-result';
import { PrometheusSample, sampleValue } from './prometheus-text';

/** Process mode's worker memory series (comfyui_image/multigpu/core/worker_memory.py), per GPU and kind. */
const WORKER_MEMORY = 'comfyui_worker_memory_bytes';
/** Below this much summed private (anonymous) growth no worker copied a model: a prompt's Python heap is noise. */
export const PRIVATE_COPY_FLOOR_BYTES = 256 * 2 ** 20;

/** True when /metrics says the server runs one ComfyUI process per GPU (comfyui_executor_info{mode="process"}). */
export function isProcessMode(samples: readonly PrometheusSample[]): boolean {
  return samples.some((s) => s.name === 'comfyui_executor_info' && s.labels.mode === 'process' && s.value === 1);
}

/**
 * Process mode: each GPU's ComfyUI loads its own copy of the round's models. `.safetensors` (and pickle files
 * under --mmap-torch-files) map the page cache, shared by all workers: Rss grows in each, Pss and anonymous
 * memory do not. A worker that copied a model privately grows its anonymous memory by the model's size. Over the
 * parallel round: FAIL when the workers' summed anonymous growth is at least the floor and at least the largest
 * single worker's Rss growth (at least one private copy); else PASS. docs/process-mode-design.md sections 4, 5.1.
 * Unverified on a GPU node: weights moved to VRAM may free their CPU copies before the scrape.
 */
export function judgeProcessRamSharing(before: readonly PrometheusSample[], after: readonly PrometheusSample[], gpus: number): CheckOutcome {
  const growth = (gpu: number, kind: string) =>
    (sampleValue(after, WORKER_MEMORY, { gpu: String(gpu), kind }) ?? 0) - (sampleValue(before, WORKER_MEMORY, { gpu: String(gpu), kind }) ?? 0);
  const total = (kind: string) => Array.from({ length: gpus }, (_, gpu) => sampleValue(after, WORKER_MEMORY, { gpu: String(gpu), kind }) ?? 0)
    .reduce((a, b) => a + b, 0);
  const anonGrowth = Array.from({ length: gpus }, (_, gpu) => growth(gpu, 'anon')).reduce((a, b) => a + b, 0);
  const largestRssGrowth = Math.max(0, ...Array.from({ length: gpus }, (_, gpu) => growth(gpu, 'rss')));
  const figures = { anonGrowthBytes: anonGrowth, largestRssGrowthBytes: largestRssGrowth, pssBytes: total('pss'), rssBytes: total('rss') };
  const detail = `process mode: the workers' private memory grew ${formatBytes(Math.max(anonGrowth, 0))} in all, the largest worker's RSS `
    + `${formatBytes(largestRssGrowth)}; summed PSS ${formatBytes(figures.pssBytes)} vs summed RSS ${formatBytes(figures.rssBytes)} over ${gpus} workers`;
  if (anonGrowth >= PRIVATE_COPY_FLOOR_BYTES && anonGrowth >= largestRssGrowth) {
    return fail(detail, 'a worker copied a model into private memory: pickle checkpoints (.ckpt/.pt/.pth/.bin) are copied per '
      + 'worker unless ComfyUI runs with --mmap-torch-files (leave COMFY_WORKER_MMAP_TORCH_FILES unset), or convert them to .safetensors', figures);
  }
  return pass(detail, figures);
}
