import { formatBytes } from '../progress';
import { CheckOutcome, fail, pass, skip } from './check-result';
import { PrometheusSample, sampleValue } from './prometheus-text';
import { isProcessMode, judgeProcessRamSharing } from './process-ram-sharing';
import { ParallelRound } from './verify-context';

/** The shared weights cache's series (comfyui_image/multigpu/core/cache_metrics.py). */
export const WEIGHTS_CACHE_PREFIX = 'comfyui_weights_cache_';
const DISK_READS = `${WEIGHTS_CACHE_PREFIX}disk_reads_total`;
const RAM_HITS = `${WEIGHTS_CACHE_PREFIX}ram_hits_total`;
/** .safetensors loads the image leaves to mmap: the page cache already holds one copy for every GPU. */
const MMAP_LOADS = `${WEIGHTS_CACHE_PREFIX}mmap_loads_total`;
const CACHE_BYTES = `${WEIGHTS_CACHE_PREFIX}bytes`;
const RESIDENT_BYTES = 'process_resident_memory_bytes';

/**
 * Over the parallel round (N GPUs loading the same files after POST /free), the loads must come from RAM but
 * the first of each file: RAM hits >= max(N-1, (N-1) x disk reads). Files already cached from earlier checks
 * make every load a hit (0 reads), which passes too. A round whose files are all .safetensors reads nothing
 * through the cache: the image leaves them to mmap, which shares one page-cache copy, and N mmap loads pass.
 * Process mode (one ComfyUI per GPU) has no weights cache; its workers' memory is judged instead.
 */
export function judgeRamSharing(round: ParallelRound, gpus: number): CheckOutcome {
  if (!round.metrics) return skip(`${round.metricsProblem ?? 'no metrics'}, so RAM sharing cannot be seen`);
  const { before, after } = round.metrics;
  if (isProcessMode(after)) return judgeProcessRamSharing(before, after, gpus);
  if (!after.some((s) => s.name.startsWith(WEIGHTS_CACHE_PREFIX))) {
    return skip(`the server exposes no ${WEIGHTS_CACHE_PREFIX}* series: the shared weights cache is off (COMFY_WEIGHTS_CACHE_GIB=0) or the image predates it`);
  }
  const delta = (name: string) => {
    const [was, now] = [sampleValue(before, name), sampleValue(after, name)];
    return was === undefined || now === undefined ? undefined : now - was;
  };
  const reads = delta(DISK_READS);
  const hits = delta(RAM_HITS);
  if (reads === undefined || hits === undefined) {
    return fail(`/metrics has ${WEIGHTS_CACHE_PREFIX}* series but not ${reads === undefined ? DISK_READS : RAM_HITS}`, 'the image and comfyctl disagree on the series names: update comfyctl');
  }
  const needed = Math.max(gpus - 1, (gpus - 1) * reads);
  const memory = memoryFigures(after);
  const mmapLoads = delta(MMAP_LOADS) ?? 0;
  if (reads === 0 && hits === 0 && mmapLoads >= gpus) {
    return pass(`${mmapLoads} .safetensors loads over ${gpus} GPUs shared through mmap (one page-cache copy)${memory}`,
      { diskReads: 0, ramHits: 0, mmapLoads, cacheBytes: sampleValue(after, CACHE_BYTES), residentBytes: sampleValue(after, RESIDENT_BYTES) });
  }
  const figures = { diskReads: reads, ramHits: hits, neededHits: needed, cacheBytes: sampleValue(after, CACHE_BYTES), residentBytes: sampleValue(after, RESIDENT_BYTES) };
  const counted = `${reads} disk read${reads === 1 ? '' : 's'}, ${hits} RAM hit${hits === 1 ? '' : 's'} over ${gpus} GPUs (needed >= ${needed})${memory}`;
  if (hits >= needed) return pass(counted, figures);
  return fail(
    counted,
    reads === 0 && hits === 0
      ? 'no model file was loaded in the parallelism round: did POST /free unload the models, and does the workflow load a checkpoint?'
      : `the GPUs read the same files from disk: is COMFY_WEIGHTS_CACHE_GIB large enough for the workflow's models${figures.cacheBytes === undefined ? '' : ` (the cache holds ${formatBytes(figures.cacheBytes)})`}?`,
    figures,
  );
}

/** `; cache 6.5 GiB, RSS 14.2 GiB` from what the scrape has. */
function memoryFigures(samples: readonly PrometheusSample[]): string {
  const parts = [['cache', sampleValue(samples, CACHE_BYTES)], ['RSS', sampleValue(samples, RESIDENT_BYTES)]] as const;
  const shown = parts.filter(([, value]) => value !== undefined).map(([label, value]) => `${label} ${formatBytes(value!)}`);
  return shown.length ? `; ${shown.join(', ')}` : '';
}
