import { ComfyuiClient } from '../comfyui/comfyui-client';
import { CheckOutcome, fail, pass } from './check-result';

/** What the server said about its workers. */
export interface WorkersFinding {
  /** HTTP status of GET /queue/all, and how many queues it listed. */
  readonly queueStatus: number;
  readonly queues?: number;
  /** HTTP status of GET /readyz, and its reason. */
  readonly readyStatus: number;
  readonly readyReason?: string;
}

/** Counts the GPU queues (GET /queue/all) and asks GET /readyz. */
export async function findWorkers(client: ComfyuiClient): Promise<WorkersFinding> {
  const queueAnswer = await client.send('GET', 'queue/all');
  const queueBody = (await queueAnswer.json().catch(() => undefined)) as { queues?: unknown } | undefined;
  const readyAnswer = await client.send('GET', 'readyz');
  const readyText = await readyAnswer.text().catch(() => '');
  let readyReason: string | undefined;
  try {
    const reason = (JSON.parse(readyText) as { reason?: unknown }).reason;
    readyReason = typeof reason === 'string' ? reason : undefined;
  } catch {
    readyReason = readyText.trim().slice(0, 200) || undefined;
  }
  return {
    queueStatus: queueAnswer.status,
    queues: queueAnswer.ok && Array.isArray(queueBody?.queues) ? queueBody.queues.length : undefined,
    readyStatus: readyAnswer.status,
    readyReason,
  };
}

/** N queues (N = `expected` if given; at least 2 either way, or the multi-GPU checks mean nothing) and /readyz 200. */
export function judgeWorkers(found: WorkersFinding, expected: number | undefined): CheckOutcome {
  const figures = { ...found, expected };
  if (found.queues === undefined) {
    return fail(
      `GET /queue/all answered HTTP ${found.queueStatus} without a list of queues`,
      'this is stock ComfyUI, not the multi-GPU scheduler: deploy the multi-gpu overlay (COMFY_MULTI_GPU_SCHED=1)',
      figures,
    );
  }
  const problems: string[] = [];
  const hints: string[] = [];
  if (expected !== undefined && found.queues !== expected) {
    problems.push(`${found.queues} queues, expected ${expected} (--gpus)`);
    hints.push(`the pod sees ${found.queues} GPUs: check the node type, the pod's nvidia.com/gpu limit and nvidia-smi in the pod`);
  }
  if (found.queues < 2) {
    problems.push(`${found.queues} queue: one GPU worker, so the multi-GPU checks mean nothing`);
    hints.push('set COMFY_MULTI_GPU_SCHED=1 (the multi-gpu overlay) on a node with several GPUs, and check nvidia-smi in the pod');
  }
  if (found.readyStatus !== 200) {
    problems.push(`/readyz answered ${found.readyStatus}: ${found.readyReason ?? 'no reason given'}`);
    hints.push("wait for every GPU's warmup and the node's model sync, then run verify again (kubectl -n comfyui logs deploy/comfyui)");
  }
  if (problems.length > 0) return fail(problems.join('; '), hints.join('; '), figures);
  return pass(`${found.queues} GPU queues, /readyz 200 (${found.readyReason ?? 'ready'})`, figures);
}
