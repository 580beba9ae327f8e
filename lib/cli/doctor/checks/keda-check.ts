import { COMFYUI_NAMESPACE, KEDA_NAMESPACE, KEDA_OPERATOR_NAME } from '../../../names';
import { firstError, valueOf } from '../answers';
import { CheckVerdict, failed, passed, warned } from '../check-verdict';
import { DoctorFacts } from '../doctor-facts';
import { findCondition, KubeDeployment } from '../kube-objects';
import { applyOverlay, notCheckedWithoutCluster } from '../next-steps';

const NAME = 'keda';

/** The ScaledObject that scales the ComfyUI Deployment (manifests, docs/scaling.md). */
export const COMFYUI_SCALED_OBJECT = 'comfyui';

/**
 * KEDA's Deployments, as its Helm chart names them after `operator.name` (the cluster stack sets KEDA_OPERATOR_NAME):
 * the operator (reads the triggers, scales to and from zero) and the metrics API server (serves the triggers to the
 * HPA between one and the maximum), `<operator.name>-metrics-apiserver`.
 */
export const KEDA_DEPLOYMENTS = [KEDA_OPERATOR_NAME, `${KEDA_OPERATOR_NAME}-metrics-apiserver`] as const;

/** kubectl's answer when a kind's CRD is not installed: `the server doesn't have a resource type "scaledobjects"`. */
const NO_SUCH_KIND = /doesn't have a resource type/;

/** What is wrong with one of KEDA's Deployments, or undefined when it is ready. */
function kedaDeploymentProblem(name: string, deployments: readonly KubeDeployment[]): string | undefined {
  const deployment = deployments.find((d) => d.metadata.name === name && d.metadata.namespace === KEDA_NAMESPACE);
  if (!deployment) return `Deployment ${KEDA_NAMESPACE}/${name} missing`;
  const wanted = deployment.spec?.replicas ?? 1;
  const ready = deployment.status?.readyReplicas ?? 0;
  if (wanted === 0) return `${KEDA_NAMESPACE}/${name} scaled to 0`;
  return ready < wanted ? `${ready}/${wanted} replicas of ${KEDA_NAMESPACE}/${name} ready` : undefined;
}

/**
 * Autoscaling works: KEDA's operator and metrics API server are ready, and the `comfyui` ScaledObject is Ready (KEDA
 * could read every trigger). No ScaledObject is autoscaling off (config `autoscaling` false, or KEDA not installed):
 * a WARN, since the fixed replica count still serves.
 */
export function checkKeda(facts: DoctorFacts): CheckVerdict {
  const { deployments, scaledObjects } = facts.cluster;
  const error = firstError(deployments);
  if (error) return notCheckedWithoutCluster(NAME, error);
  const where = `${COMFYUI_NAMESPACE}/${COMFYUI_SCALED_OBJECT}`;
  const scaledObject = valueOf(scaledObjects)?.find((o) => o.metadata.name === COMFYUI_SCALED_OBJECT);
  const problems = KEDA_DEPLOYMENTS.map((name) => kedaDeploymentProblem(name, valueOf(deployments)!)).filter((p): p is string => p !== undefined);
  const kedaLogs = `kubectl -n ${KEDA_NAMESPACE} get deploy; kubectl -n ${KEDA_NAMESPACE} logs deploy/${KEDA_OPERATOR_NAME}`;

  if (!scaledObject) {
    if ('error' in scaledObjects && !NO_SUCH_KIND.test(scaledObjects.error)) return notCheckedWithoutCluster(NAME, scaledObjects.error);
    const why = 'error' in scaledObjects ? 'KEDA is not installed (the API server has no ScaledObject kind)' : `no ScaledObject ${where}`;
    return warned(NAME, `autoscaling off: ${why}; ComfyUI keeps its fixed replica count`,
      `to autoscale, deploy with autoscaling=true (and jobs=true), then ${applyOverlay(facts.outputsFile)}`);
  }
  if (problems.length > 0) {
    return failed(NAME, `ScaledObject ${where} exists but KEDA is not running: ${problems.join('; ')}`, kedaLogs);
  }
  const ready = findCondition(scaledObject.status?.conditions, 'Ready');
  if (ready?.status !== 'True') {
    const why = ready ? `${ready.reason ?? 'not Ready'}${ready.message ? `: ${ready.message}` : ''}` : 'no Ready condition yet (KEDA has not reconciled it)';
    return failed(NAME, `ScaledObject ${where} not Ready: ${why}`,
      `kubectl -n ${COMFYUI_NAMESPACE} describe scaledobject ${COMFYUI_SCALED_OBJECT} (its events name the trigger that fails); ${kedaLogs}`);
  }
  const active = findCondition(scaledObject.status?.conditions, 'Active')?.status === 'True';
  return passed(NAME, `${KEDA_DEPLOYMENTS.join(' and ')} ready; ScaledObject ${where} Ready, ${active ? 'active (demand seen)' : 'idle (no demand: scaled to its minimum)'}`);
}
