import { checkAddons } from './checks/addons-check';
import { checkComfyuiPods } from './checks/comfyui-pods-check';
import { checkEdgeRequest } from './checks/edge-request-check';
import { checkEdgeStacks } from './checks/edge-stacks-check';
import { checkEdgeWebSocket } from './checks/edge-websocket-check';
import { checkGpuNodes } from './checks/gpu-nodes-check';
import { checkJobRunner } from './checks/job-runner-check';
import { checkJobsDeadLetters } from './checks/jobs-dlq-check';
import { checkKeda } from './checks/keda-check';
import { checkMetricsAgents } from './checks/metrics-agents-check';
import { checkNodeClass } from './checks/node-class-check';
import { checkNodePools } from './checks/node-pools-check';
import { checkOutputsWritable } from './checks/outputs-bucket-check';
import { checkKubeAccess } from './checks/kube-access-check';
import { checkModelSync } from './checks/model-sync-check';
import { checkStacks } from './checks/stacks-check';
import { checkSyncDeadLetters } from './checks/sync-dlq-check';
import { checkRecentSyncFailures } from './checks/sync-failures-check';
import { checkTargetHealth } from './checks/target-health-check';
import { CheckVerdict } from './check-verdict';
import { DoctorFacts } from './doctor-facts';

/** doctor's checks from the outside in: what a request passes through, then what feeds the nodes. */
export const ALL_CHECKS: readonly ((facts: DoctorFacts) => CheckVerdict)[] = [
  checkStacks,
  checkEdgeStacks,
  checkKubeAccess,
  checkAddons,
  checkNodeClass,
  checkNodePools,
  checkGpuNodes,
  checkModelSync,
  checkComfyuiPods,
  checkKeda,
  checkJobRunner,
  checkTargetHealth,
  checkEdgeRequest,
  checkEdgeWebSocket,
  checkOutputsWritable,
  checkSyncDeadLetters,
  checkJobsDeadLetters,
  checkMetricsAgents,
  checkRecentSyncFailures,
];

/** Every verdict, in order. */
export function judge(facts: DoctorFacts): CheckVerdict[] {
  return ALL_CHECKS.map((check) => check(facts));
}
