import { COMFYUI_NAMESPACE } from '../../../names';
import { firstError, valueOf } from '../answers';
import { CheckVerdict, failed, passed, warned } from '../check-verdict';
import { DoctorFacts } from '../doctor-facts';
import { podTrouble } from '../pod-trouble';
import { applyOverlay, notCheckedWithoutCluster } from '../next-steps';

const NAME = 'comfyui-pods';
const DEPLOYMENT = 'comfyui';

/** Every ComfyUI pod is Ready; for each one that is not, why (scheduling, mount, image, probe). */
export function checkComfyuiPods(facts: DoctorFacts): CheckVerdict {
  const { pods, events, deployments } = facts.cluster;
  const error = firstError(pods, events, deployments);
  if (error) return notCheckedWithoutCluster(NAME, error);
  const deployment = valueOf(deployments)!.find((d) => d.metadata.name === DEPLOYMENT && d.metadata.namespace === COMFYUI_NAMESPACE);
  if (!deployment) {
    return failed(NAME, `no Deployment ${COMFYUI_NAMESPACE}/${DEPLOYMENT}`, applyOverlay(facts.outputsFile));
  }
  const all = valueOf(pods)!;
  if (all.length === 0) {
    if (deployment.spec?.replicas === 0) {
      return warned(NAME, 'scaled to zero: nothing serves requests', `kubectl -n ${COMFYUI_NAMESPACE} scale deploy/${DEPLOYMENT} --replicas=1 when users need it`);
    }
    return failed(NAME, 'the Deployment has no pods', `kubectl -n ${COMFYUI_NAMESPACE} describe deploy/${DEPLOYMENT}`);
  }
  const troubled = all.map((pod) => ({ pod, trouble: podTrouble(pod, valueOf(events)!) })).filter((t) => t.trouble);
  if (troubled.length > 0) {
    const detail = troubled.map(({ pod, trouble }) => `${pod.metadata.name} ${pod.status?.phase ?? ''}: ${trouble!.reason}`).join('; ');
    const nexts = [...new Set(troubled.map((t) => t.trouble!.next))];
    return failed(NAME, `${all.length - troubled.length}/${all.length} pods Ready; ${detail}`, nexts.join(' | '));
  }
  return passed(NAME, `${all.length}/${all.length} pods Ready on ${[...new Set(all.map((p) => p.spec?.nodeName ?? '?'))].join(', ')}`);
}
