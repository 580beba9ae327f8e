import { OUTPUT_KEYS, STACK_NAMES } from '../../../names';
import { valueOf } from '../answers';
import { CheckVerdict, failed, passed, warned } from '../check-verdict';
import { DoctorFacts } from '../doctor-facts';

const NAME = 'kube-access';

/** kubectl reaches the API server and may do anything (`kubectl auth can-i '*' '*'`), as the cluster admin does. */
export function checkKubeAccess(facts: DoctorFacts): CheckVerdict {
  const kubeconfig = `$(jq -r '."${STACK_NAMES.cluster}".${OUTPUT_KEYS.kubeconfigCommand}' ${facts.outputsFile})`;
  if ('error' in facts.kubeAccess) {
    if (/ENOENT/.test(facts.kubeAccess.error)) {
      return failed(NAME, `kubectl not found: ${facts.kubeAccess.error}`, 'install kubectl (a README prerequisite) or pass --kubectl <path>');
    }
    return failed(NAME, `kubectl cannot reach the cluster: ${facts.kubeAccess.error}`,
      `run ${kubeconfig}; from outside the VPC your IP must be in clusterEndpointPublicCidrs (cdk.json), then npx cdk deploy ${STACK_NAMES.cluster}`);
  }
  if (!facts.kubeAccess.ok.admin) {
    return failed(NAME, `kubectl reaches the cluster but is not its admin (can-i '*' '*': ${facts.kubeAccess.ok.answer})`,
      `set clusterAdminArn in cdk.json to the ARN of 'aws sts get-caller-identity', npx cdk deploy ${STACK_NAMES.cluster}, then ${kubeconfig}`);
  }
  const cluster = valueOf(facts.outputs)?.[STACK_NAMES.cluster]?.[OUTPUT_KEYS.clusterName];
  const context = facts.kubeAccess.ok.context;
  // `aws eks update-kubeconfig` names the context arn:aws:eks:<region>:<account>:cluster/<name>.
  if (typeof cluster === 'string' && context !== undefined && context !== cluster && !context.endsWith(`:cluster/${cluster}`)) {
    return warned(NAME, `kubectl is admin through context ${context}, which does not name cluster ${cluster}: the cluster checks may look at another cluster`,
      `run ${kubeconfig}, or pass --context`);
  }
  return passed(NAME, `kubectl reaches the cluster as its admin${context ? ` (context ${context})` : ''}`);
}
