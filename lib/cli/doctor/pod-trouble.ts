import { MODELS_READY_TAINT_KEY } from '../../names';
import { findCondition, KubeEvent, KubePod } from './kube-objects';
import { KARPENTER_LOGS, MODEL_SYNC_LOGS } from './next-steps';

/** Why a ComfyUI pod is not serving, and the next step. */
export interface PodTrouble {
  readonly reason: string;
  readonly next: string;
}

const IMAGE_PULL = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName']);

/** The newest event of `reason` about this pod. */
function latestEvent(pod: KubePod, events: readonly KubeEvent[], reason: string): KubeEvent | undefined {
  const time = (e: KubeEvent) => e.lastTimestamp ?? e.eventTime ?? '';
  return events
    .filter((e) => e.involvedObject.name === pod.metadata.name && e.reason === reason)
    .sort((a, b) => time(a).localeCompare(time(b)))
    .at(-1);
}

/** The scheduler's verdict, from the PodScheduled condition or else the FailedScheduling event. */
function unschedulable(pod: KubePod, events: readonly KubeEvent[]): string | undefined {
  const scheduled = findCondition(pod.status?.conditions, 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.message) return scheduled.message;
  return scheduled?.status === 'True' ? undefined : latestEvent(pod, events, 'FailedScheduling')?.message;
}

/**
 * What keeps one pod from Ready, read from its conditions, container states and events, as `kubectl describe pod`
 * shows them: the models-not-ready taint, another untolerated taint, no free GPU, the outputs volume not mounting,
 * the image not pulling; undefined when the pod is Ready.
 */
export function podTrouble(pod: KubePod, events: readonly KubeEvent[]): PodTrouble | undefined {
  if (findCondition(pod.status?.conditions, 'Ready')?.status === 'True') return undefined;
  const describe = `kubectl -n ${pod.metadata.namespace ?? 'comfyui'} describe pod ${pod.metadata.name}`;
  const scheduling = unschedulable(pod, events);
  if (scheduling?.includes(MODELS_READY_TAINT_KEY)) {
    return { reason: `waits for the node's model sync (${scheduling})`, next: MODEL_SYNC_LOGS };
  }
  if (scheduling?.includes('Insufficient nvidia.com/gpu')) {
    return {
      reason: `no free GPU (${scheduling})`,
      next: `${KARPENTER_LOGS} (a NodePool limit, the EC2 GPU quota, or no spot/on-demand capacity for the instance families)`,
    };
  }
  if (scheduling?.includes('untolerated taint')) {
    return { reason: `a node taint it does not tolerate (${scheduling})`, next: `${describe}; kubectl get nodes -o custom-columns=NAME:.metadata.name,TAINTS:.spec.taints` };
  }
  if (scheduling) return { reason: `unschedulable (${scheduling})`, next: `${describe}; ${KARPENTER_LOGS}` };
  const mount = latestEvent(pod, events, 'FailedMount') ?? latestEvent(pod, events, 'FailedAttachVolume');
  if (mount) {
    return {
      reason: `a volume does not mount (${mount.message ?? mount.reason})`,
      next: 'kubectl -n kube-system logs ds/s3-csi-node; the outputs bucket and the pod identity association of the comfyui service account (S3OutputsStorage)',
    };
  }
  const waiting = (pod.status?.containerStatuses ?? []).map((c) => c.state?.waiting).find((w) => w?.reason);
  if (waiting && IMAGE_PULL.has(waiting.reason!)) {
    return { reason: `image not pulled: ${waiting.reason}${waiting.message ? ` (${waiting.message})` : ''}`, next: 'comfyui_image/build_and_push.sh --outputs cdk-outputs.json' };
  }
  if (waiting) return { reason: `container waiting: ${waiting.reason}`, next: `kubectl -n ${pod.metadata.namespace ?? 'comfyui'} logs ${pod.metadata.name} --all-containers --previous` };
  if (pod.status?.phase === 'Running') {
    return {
      reason: 'Running but not Ready',
      next: `kubectl -n comfyui exec ${pod.metadata.name} -c comfyui -- python3 /opt/comfyui-pod/comfyui_probe.py ready --timeout=3`,
    };
  }
  return { reason: pod.status?.phase ?? 'no status yet', next: describe };
}
