import { CLOUDWATCH_OBSERVABILITY_NAMESPACE, COMFYUI_METRICS_SCRAPER, STACK_NAMES } from '../../../names';
import { firstError, valueOf } from '../answers';
import { CheckVerdict, failed, passed } from '../check-verdict';
import { DoctorFacts } from '../doctor-facts';
import { SystemAddon } from '../system-addons';
import { notCheckedWithoutCluster } from '../next-steps';
import { addonProblem } from './addons-check';

const NAME = 'metrics-agents';
const ns = CLOUDWATCH_OBSERVABILITY_NAMESPACE;
const logsOf = (kind: string, name: string) => `kubectl -n ${ns} describe ${kind.toLowerCase()} ${name}; kubectl -n ${ns} logs ${kind.toLowerCase()}/${name}`;

/**
 * What feeds the dashboard (config `operations`): the CloudWatch Observability add-on's node agents, as its operator
 * names them after their custom resources (the agent on every node, the DCGM exporter on NVIDIA GPU nodes, Fluent Bit
 * on every node), and the ComfyUI metrics scraper.
 */
export const METRICS_AGENTS: readonly SystemAddon[] = [
  { title: 'CloudWatch agent', kind: 'DaemonSet', namespace: ns, name: 'cloudwatch-agent', placement: 'every-node', logsHint: logsOf('DaemonSet', 'cloudwatch-agent') },
  { title: 'DCGM exporter (GPU metrics)', kind: 'DaemonSet', namespace: ns, name: 'dcgm-exporter', placement: 'gpu-nodes', logsHint: logsOf('DaemonSet', 'dcgm-exporter') },
  { title: 'Fluent Bit', kind: 'DaemonSet', namespace: ns, name: 'fluent-bit', placement: 'every-node', logsHint: logsOf('DaemonSet', 'fluent-bit') },
  { title: 'ComfyUI metrics scraper', kind: 'Deployment', namespace: ns, name: COMFYUI_METRICS_SCRAPER, logsHint: logsOf('Deployment', COMFYUI_METRICS_SCRAPER) },
];

/**
 * With the operations stack deployed, the dashboard's sources run: the add-on's agents where they must, and the
 * scraper. A missing DCGM exporter on a GPU node leaves the GPU widgets empty for that node.
 */
export function checkMetricsAgents(facts: DoctorFacts): CheckVerdict {
  if (valueOf(facts.stacks)?.[STACK_NAMES.operations] === undefined) {
    return passed(NAME, `operations off (no ${STACK_NAMES.operations} stack): no dashboard to feed`);
  }
  const { nodes, daemonSets, deployments } = facts.cluster;
  const error = firstError(nodes, daemonSets, deployments);
  if (error) return notCheckedWithoutCluster(NAME, error);
  const broken = METRICS_AGENTS.map((agent) => ({ agent, problem: addonProblem(agent, valueOf(nodes)!, valueOf(daemonSets)!, valueOf(deployments)!) }))
    .filter((b): b is { agent: SystemAddon; problem: string } => b.problem !== undefined);
  if (broken.length > 0) {
    const addOn = `aws eks describe-addon --cluster-name <cluster> --addon-name amazon-cloudwatch-observability (its health issues)`;
    return failed(NAME, `the dashboard misses data: ${broken.map((b) => b.problem).join('; ')}`, [...broken.map((b) => b.agent.logsHint), addOn].join(' | '));
  }
  return passed(NAME, `${METRICS_AGENTS.map((a) => a.title).join(', ')} ready`);
}
