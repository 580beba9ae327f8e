import { firstError, valueOf } from '../answers';
import { CheckVerdict, failed, passed } from '../check-verdict';
import { DoctorFacts } from '../doctor-facts';
import { isGpuNode } from '../gpu-nodes';
import { KubeDaemonSet, KubeDeployment, KubeNode } from '../kube-objects';
import { SYSTEM_ADDONS, SystemAddon } from '../system-addons';
import { notCheckedWithoutCluster } from '../next-steps';

const NAME = 'addons';

/** What is wrong with one add-on, or undefined when it is healthy. */
export function addonProblem(
  addon: SystemAddon,
  nodes: readonly KubeNode[],
  daemonSets: readonly KubeDaemonSet[],
  deployments: readonly KubeDeployment[],
): string | undefined {
  const where = `${addon.namespace}/${addon.name}`;
  const same = (o: { metadata: { name: string; namespace?: string } }) => o.metadata.name === addon.name && o.metadata.namespace === addon.namespace;
  if (addon.kind === 'Deployment') {
    const deployment = deployments.find(same);
    if (!deployment) return `${addon.title}: Deployment ${where} missing`;
    const wanted = deployment.spec?.replicas ?? 1;
    const ready = deployment.status?.readyReplicas ?? 0;
    if (wanted === 0) return `${addon.title}: Deployment ${where} scaled to 0`;
    return ready < wanted ? `${addon.title}: ${ready}/${wanted} replicas of ${where} ready` : undefined;
  }
  const daemonSet = daemonSets.find(same);
  if (!daemonSet) return `${addon.title}: DaemonSet ${where} missing`;
  const expected = addon.placement === 'gpu-nodes' ? nodes.filter(isGpuNode).length : nodes.length;
  const desired = daemonSet.status?.desiredNumberScheduled ?? 0;
  const ready = daemonSet.status?.numberReady ?? 0;
  const onWhat = addon.placement === 'gpu-nodes' ? 'GPU nodes' : 'nodes';
  if (desired < expected) return `${addon.title}: ${where} wants ${desired} of ${expected} ${onWhat} (a taint it does not tolerate, or its node selector)`;
  return ready < desired ? `${addon.title}: ${ready}/${desired} pods of ${where} ready` : undefined;
}

/** The system add-ons run and are ready where they must: the CNI and Mountpoint on every node, the device plugin on GPU nodes. */
export function checkAddons(facts: DoctorFacts): CheckVerdict {
  const { nodes, daemonSets, deployments } = facts.cluster;
  const error = firstError(nodes, daemonSets, deployments);
  if (error) return notCheckedWithoutCluster(NAME, error);
  const allNodes = valueOf(nodes)!;
  const broken = SYSTEM_ADDONS.map((addon) => ({ addon, problem: addonProblem(addon, allNodes, valueOf(daemonSets)!, valueOf(deployments)!) }))
    .filter((b): b is { addon: SystemAddon; problem: string } => b.problem !== undefined);
  if (broken.length > 0) {
    return failed(NAME, broken.map((b) => b.problem).join('; '), broken.map((b) => b.addon.logsHint).join(' | '));
  }
  const gpu = allNodes.filter(isGpuNode).length;
  return passed(NAME, `${SYSTEM_ADDONS.map((a) => a.title).join(', ')} ready (${allNodes.length} nodes, ${gpu} with GPUs)`);
}
