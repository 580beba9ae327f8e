import { MODELS_READY_TAINT_KEY } from '../../../names';
import { NodeSyncStatus } from '../../models/sync-report';
import { valueOf } from '../answers';
import { CheckVerdict, DoctorStatus, failed, passed, warned } from '../check-verdict';
import { DoctorFacts } from '../doctor-facts';
import { instanceIdOf, isGpuNode } from '../gpu-nodes';
import { KubeNode } from '../kube-objects';
import { MODEL_SYNC_LOGS, notCheckedWithoutCluster } from '../next-steps';

const NAME = 'model-sync';

/**
 * How long a new node may go without any sync report while it keeps the startup taint: the boot sync writes its
 * first line within seconds of the node joining; 15 minutes leaves room for a slow start.
 */
export const FIRST_REPORT_GRACE_MS = 15 * 60_000;

interface NodeFinding {
  readonly status: DoctorStatus;
  readonly text: string;
}

/** One GPU node's sync state and startup taint, judged together. */
export function judgeNodeSync(node: KubeNode, sync: NodeSyncStatus | undefined, now: Date): NodeFinding {
  const id = instanceIdOf(node) ?? node.metadata.name;
  const tainted = (node.spec?.taints ?? []).some((t) => t.key === MODELS_READY_TAINT_KEY);
  const taint = tainted ? `${MODELS_READY_TAINT_KEY} taint still on` : 'taint lifted';
  const last = sync ? `${sync.result}${sync.lastSync ? ` at ${sync.lastSync.toISOString()}` : ''}${sync.summary ? ` (${sync.summary})` : ''}` : 'no sync report';
  const text = `${id}: ${last}; ${taint}`;
  if (sync?.result === 'Failed') return { status: 'FAIL', text };
  if (!tainted) return { status: 'PASS', text };
  if (sync?.result === 'Success') return { status: 'FAIL', text: `${text} although the sync succeeded` };
  if (sync?.result === 'InProgress') return { status: 'WARN', text: `${text} (first sync running)` };
  const ageMs = now.getTime() - new Date(node.metadata.creationTimestamp ?? now).getTime();
  return { status: ageMs > FIRST_REPORT_GRACE_MS ? 'FAIL' : 'WARN', text };
}

/** Per GPU node: the last model sync (boot and SSM, as `comfyctl models status` reads them) and the startup taint. */
export function checkModelSync(facts: DoctorFacts): CheckVerdict {
  const nodes = valueOf(facts.cluster.nodes);
  if (!nodes) return notCheckedWithoutCluster(NAME, 'no node list');
  const gpuNodes = nodes.filter(isGpuNode);
  if (gpuNodes.length === 0) return passed(NAME, 'no GPU nodes to sync');
  const statuses = valueOf(facts.syncStatuses);
  const byInstance = new Map((statuses ?? []).map((s) => [s.instanceId, s]));
  const findings = gpuNodes.map((node) => judgeNodeSync(node, byInstance.get(instanceIdOf(node) ?? ''), facts.now));
  const detail = findings.map((f) => f.text).join('; ');
  const unread = 'error' in facts.syncStatuses ? `; sync reports not read: ${facts.syncStatuses.error}` : '';
  const next = `${MODEL_SYNC_LOGS} (a FAILED: line names the cause, e.g. the models do not fit the node's NVMe)`;
  if (findings.some((f) => f.status === 'FAIL')) return failed(NAME, `${detail}${unread}`, next);
  if (findings.some((f) => f.status === 'WARN') || unread) return warned(NAME, `${detail}${unread}`, next);
  return passed(NAME, detail);
}
