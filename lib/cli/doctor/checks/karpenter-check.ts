import { GPU_NODE_POOLS } from '../../../names';
import { CheckVerdict, failed, passed, warned } from '../check-verdict';
import { DoctorFacts } from '../doctor-facts';
import { conditionTrue, KarpenterObject } from '../kube-objects';

/** The conditions of a Karpenter object that are not True, with their messages: what keeps it from Ready. */
function notReadyBecause(object: KarpenterObject): string {
  const bad = (object.status?.conditions ?? []).filter((c) => c.status !== 'True' && c.type !== 'Ready');
  if (bad.length === 0) return 'no Ready condition yet';
  return bad.map((c) => `${c.type}=${c.status}${c.message ? ` (${c.message})` : ''}`).join(', ');
}

/** The GPU EC2NodeClass resolved an AMI and is Ready (Karpenter v1 status.amis and conditions). */
export function checkNodeClass(facts: DoctorFacts): CheckVerdict {
  const NAME = 'node-class';
  const answer = facts.cluster.nodeClasses;
  const karpenterLogs = 'kubectl -n kube-system logs deploy/karpenter';
  if ('error' in answer) return warned(NAME, `not checked: ${answer.error}`, 'fix kube-access and the Karpenter add-on first');
  if (answer.ok.length === 0) return failed(NAME, 'no EC2NodeClass', 'npm run render -- --outputs cdk-outputs.json, then kubectl apply -k build/manifests/single-gpu');
  const problems = answer.ok.flatMap((nodeClass) => {
    const name = nodeClass.metadata.name;
    const noAmi = (nodeClass.status?.amis ?? []).length === 0 ? [`${name} resolved no AMI`] : [];
    const notReady = conditionTrue(nodeClass.status?.conditions, 'Ready') ? [] : [`${name} not Ready: ${notReadyBecause(nodeClass)}`];
    return [...noAmi, ...notReady];
  });
  if (problems.length > 0) {
    return failed(NAME, problems.join('; '),
      `kubectl describe ec2nodeclass; ${karpenterLogs} (an AMI alias the region lacks, untagged subnets, or the node role's instance profile)`);
  }
  const amis = answer.ok.map((c) => `${c.metadata.name}: ${(c.status?.amis ?? []).map((a) => a.id).join(', ')}`);
  return passed(NAME, `Ready with AMIs ${amis.join('; ')}`);
}

/** Our GPU NodePools exist and are Ready, so Karpenter can launch GPU nodes. */
export function checkNodePools(facts: DoctorFacts): CheckVerdict {
  const NAME = 'node-pools';
  const answer = facts.cluster.nodePools;
  if ('error' in answer) return warned(NAME, `not checked: ${answer.error}`, 'fix kube-access and the Karpenter add-on first');
  const ours = answer.ok.filter((p) => (GPU_NODE_POOLS as readonly string[]).includes(p.metadata.name));
  if (ours.length === 0) {
    return failed(NAME, `none of ${GPU_NODE_POOLS.join(', ')} exists`, 'npm run render -- --outputs cdk-outputs.json, then kubectl apply -k build/manifests/single-gpu (or multi-gpu)');
  }
  const notReady = ours.filter((p) => !conditionTrue(p.status?.conditions, 'Ready'));
  if (notReady.length > 0) {
    return failed(NAME, notReady.map((p) => `${p.metadata.name} not Ready: ${notReadyBecause(p)}`).join('; '),
      `kubectl describe nodepool ${notReady[0].metadata.name}; a NodeClassReady=False points at the node-class check`);
  }
  return passed(NAME, `${ours.map((p) => p.metadata.name).join(', ')} Ready`);
}
