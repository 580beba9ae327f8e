import { checkAddons } from './checks/addons-check';
import { checkOutputsWritable, checkRecentSyncFailures, checkSyncDeadLetters } from './checks/aws-resource-checks';
import { checkComfyuiPods } from './checks/comfyui-pods-check';
import { checkEdgeRequest, checkEdgeWebSocket } from './checks/edge-checks';
import { checkGpuNodes } from './checks/gpu-nodes-check';
import { checkNodeClass, checkNodePools } from './checks/karpenter-check';
import { checkKubeAccess } from './checks/kube-access-check';
import { checkModelSync } from './checks/model-sync-check';
import { checkStacks } from './checks/stacks-check';
import { checkTargetHealth } from './checks/target-health-check';
import { CheckVerdict } from './check-verdict';
import { DoctorFacts } from './doctor-facts';

/** doctor's checks from the outside in: what a request passes through, then what feeds the nodes. */
export const ALL_CHECKS: readonly ((facts: DoctorFacts) => CheckVerdict)[] = [
  checkStacks,
  checkKubeAccess,
  checkAddons,
  checkNodeClass,
  checkNodePools,
  checkGpuNodes,
  checkModelSync,
  checkComfyuiPods,
  checkTargetHealth,
  checkEdgeRequest,
  checkEdgeWebSocket,
  checkOutputsWritable,
  checkSyncDeadLetters,
  checkRecentSyncFailures,
];

/** Every verdict, in order. */
export function judge(facts: DoctorFacts): CheckVerdict[] {
  return ALL_CHECKS.map((check) => check(facts));
}
