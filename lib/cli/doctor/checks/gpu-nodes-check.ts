import { CheckVerdict, failed, passed } from '../check-verdict';
import { DoctorFacts } from '../doctor-facts';
import { isGpuNode, nodeLabel } from '../gpu-nodes';
import { conditionTrue } from '../kube-objects';
import { KARPENTER_LOGS, notCheckedWithoutCluster } from '../next-steps';

const NAME = 'gpu-nodes';

/** GPU nodes are Ready; none at all is fine: Karpenter removed them when ComfyUI scaled to zero. */
export function checkGpuNodes(facts: DoctorFacts): CheckVerdict {
  const answer = facts.cluster.nodes;
  if ('error' in answer) return notCheckedWithoutCluster(NAME, answer.error);
  const gpuNodes = answer.ok.filter(isGpuNode);
  if (gpuNodes.length === 0) return passed(NAME, 'no GPU nodes (scaled to zero; Karpenter adds one when a ComfyUI pod needs it)');
  const notReady = gpuNodes.filter((n) => !conditionTrue(n.status?.conditions, 'Ready'));
  if (notReady.length > 0) {
    return failed(NAME, `${notReady.length} of ${gpuNodes.length} GPU nodes not Ready: ${notReady.map(nodeLabel).join(', ')}`,
      `kubectl describe node ${notReady[0].metadata.name} (its conditions and events); ${KARPENTER_LOGS}`);
  }
  const noGpu = gpuNodes.filter((n) => Number(n.status?.allocatable?.['nvidia.com/gpu'] ?? 0) === 0);
  if (noGpu.length > 0) {
    return failed(NAME, `GPU nodes advertise no nvidia.com/gpu: ${noGpu.map(nodeLabel).join(', ')}`,
      'kubectl -n kube-system logs ds/nvidia-device-plugin (no NVIDIA driver: the EC2NodeClass must use the EKS AL2023 NVIDIA AMI)');
  }
  return passed(NAME, `${gpuNodes.length} GPU node${gpuNodes.length === 1 ? '' : 's'} Ready: ${gpuNodes.map(nodeLabel).join(', ')}`);
}
