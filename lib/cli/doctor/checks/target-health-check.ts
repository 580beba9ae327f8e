import { OUTPUT_KEYS, STACK_NAMES } from '../../../names';
import { CheckVerdict, failed, passed } from '../check-verdict';
import { DoctorFacts, TargetHealthFact } from '../doctor-facts';

const NAME = 'target-health';

/** The ALB target group has targets and all are healthy (ELBv2 DescribeTargetHealth on its output ARN). */
export function checkTargetHealth(facts: DoctorFacts): CheckVerdict {
  const answer = facts.targetHealth;
  const arn = `"$(jq -r '."${STACK_NAMES.cluster}".${OUTPUT_KEYS.targetGroupArn}' ${facts.outputsFile})"`;
  const describe = `aws elbv2 describe-target-health --target-group-arn ${arn}`;
  if ('error' in answer) return failed(NAME, answer.error, 'check AWS credentials (elasticloadbalancing:DescribeTargetHealth) and --region');
  if (answer.ok.length === 0) {
    return failed(NAME, 'no targets registered: no ComfyUI pod is in the target group',
      'kubectl -n comfyui get targetgroupbinding,pods; kubectl -n kube-system logs deploy/aws-load-balancer-controller');
  }
  const unhealthy = answer.ok.filter((t) => t.state !== 'healthy');
  const list = (targets: readonly TargetHealthFact[]) =>
    targets.map((t) => `${t.id}${t.port ? `:${t.port}` : ''} ${t.state}${t.reason ? ` (${t.reason}${t.description ? `: ${t.description}` : ''})` : ''}`).join(', ');
  if (unhealthy.length > 0) {
    return failed(NAME, `${answer.ok.length - unhealthy.length}/${answer.ok.length} targets healthy; ${list(unhealthy)}`,
      `${describe}; Target.Timeout: the ALB security group cannot reach the pods; Target.ResponseCodeMismatch: ComfyUI answers / with an error (see comfyui-pods)`);
  }
  return passed(NAME, `${answer.ok.length}/${answer.ok.length} targets healthy: ${list(answer.ok)}`);
}
