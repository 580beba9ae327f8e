import { CheckVerdict, failed, passed, warned } from '../check-verdict';
import { DoctorFacts } from '../doctor-facts';
import { conditionTrue, notReadyBecause } from '../kube-objects';
import { applyOverlay, KARPENTER_LOGS } from '../next-steps';

/** The GPU EC2NodeClass resolved an AMI and is Ready (Karpenter v1 status.amis and conditions). */
export function checkNodeClass(facts: DoctorFacts): CheckVerdict {
  const NAME = 'node-class';
  const answer = facts.cluster.nodeClasses;
  if ('error' in answer) return warned(NAME, `not checked: ${answer.error}`, 'fix kube-access and the Karpenter add-on first');
  if (answer.ok.length === 0) return failed(NAME, 'no EC2NodeClass', applyOverlay(facts.outputsFile));
  const problems = answer.ok.flatMap((nodeClass) => {
    const name = nodeClass.metadata.name;
    const noAmi = (nodeClass.status?.amis ?? []).length === 0 ? [`${name} resolved no AMI`] : [];
    const notReady = conditionTrue(nodeClass.status?.conditions, 'Ready') ? [] : [`${name} not Ready: ${notReadyBecause(nodeClass)}`];
    return [...noAmi, ...notReady];
  });
  if (problems.length > 0) {
    return failed(NAME, problems.join('; '),
      `kubectl describe ec2nodeclass; ${KARPENTER_LOGS} (an AMI alias the region lacks, untagged subnets, or the node role's instance profile)`);
  }
  const amis = answer.ok.map((c) => `${c.metadata.name}: ${(c.status?.amis ?? []).map((a) => a.id).join(', ')}`);
  return passed(NAME, `Ready with AMIs ${amis.join('; ')}`);
}
