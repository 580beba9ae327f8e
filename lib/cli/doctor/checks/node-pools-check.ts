import { GPU_NODE_POOLS } from '../../../names';
import { CheckVerdict, failed, passed, warned } from '../check-verdict';
import { DoctorFacts } from '../doctor-facts';
import { conditionTrue, notReadyBecause } from '../kube-objects';
import { applyOverlay } from '../next-steps';

/** Our GPU NodePools exist and are Ready, so Karpenter can launch GPU nodes. */
export function checkNodePools(facts: DoctorFacts): CheckVerdict {
  const NAME = 'node-pools';
  const answer = facts.cluster.nodePools;
  if ('error' in answer) return warned(NAME, `not checked: ${answer.error}`, 'fix kube-access and the Karpenter add-on first');
  const ours = answer.ok.filter((p) => (GPU_NODE_POOLS as readonly string[]).includes(p.metadata.name));
  if (ours.length === 0) {
    return failed(NAME, `none of ${GPU_NODE_POOLS.join(', ')} exists`, applyOverlay(facts.outputsFile));
  }
  const notReady = ours.filter((p) => !conditionTrue(p.status?.conditions, 'Ready'));
  if (notReady.length > 0) {
    return failed(NAME, notReady.map((p) => `${p.metadata.name} not Ready: ${notReadyBecause(p)}`).join('; '),
      `kubectl describe nodepool ${notReady[0].metadata.name}; a NodeClassReady=False points at the node-class check`);
  }
  return passed(NAME, `${ours.map((p) => p.metadata.name).join(', ')} Ready`);
}
