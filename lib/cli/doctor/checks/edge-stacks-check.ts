import { EDGE_WEB_ACL_STACK_NAME, STACK_NAMES } from '../../../names';
import { valueOf } from '../answers';
import { CheckVerdict, failed, passed, warned } from '../check-verdict';
import { DoctorFacts } from '../doctor-facts';
import { USABLE_STACK_STATUSES } from './stacks-check';

const NAME = 'edge-stacks';

/**
 * Which us-east-1 stacks this deployment should have: CloudFront's alarm stack when operations and CloudFront are
 * both on (the home region has ComfyuiOperations and CloudFrontEntry), and either stack when the outputs file names
 * it (the deploy path wrote it: `waf` on for the web ACL).
 */
export function expectedEdgeStacks(facts: DoctorFacts): string[] {
  const outputs = valueOf(facts.outputs) ?? {};
  const home = valueOf(facts.stacks) ?? {};
  const operationsEdge = (home[STACK_NAMES.operations] !== undefined && home[STACK_NAMES.cloudFrontEntry] !== undefined) ||
    outputs[STACK_NAMES.operationsEdge] !== undefined;
  return [
    ...(operationsEdge ? [STACK_NAMES.operationsEdge] : []),
    ...(outputs[EDGE_WEB_ACL_STACK_NAME] !== undefined ? [EDGE_WEB_ACL_STACK_NAME] : []),
  ];
}

/** The us-east-1 stacks (CloudFront's 5xx alarm, the web ACL) exist and are usable when configured. */
export function checkEdgeStacks(facts: DoctorFacts): CheckVerdict {
  const redeploy = `npx cdk deploy --all --outputs-file ${facts.outputsFile} (once per account: npx cdk bootstrap aws://<account>/us-east-1)`;
  if ('error' in facts.edgeStacks) return warned(NAME, `CloudFormation in us-east-1 not asked (${facts.edgeStacks.error})`, 'check your AWS credentials');
  const statuses = facts.edgeStacks.ok;
  // A web ACL stack that exists is in use even when the outputs file does not name it.
  const expected = [...new Set([...expectedEdgeStacks(facts), ...Object.keys(statuses)])];
  if (expected.length === 0) return passed(NAME, 'none configured (operations or cloudFront off, waf off)');
  const absent = expected.filter((s) => statuses[s] === undefined);
  const broken = expected.filter((s) => statuses[s] !== undefined && !USABLE_STACK_STATUSES.has(statuses[s])).map((s) => `${s} ${statuses[s]}`);
  if (absent.length > 0 || broken.length > 0) {
    const problems = [...(absent.length > 0 ? [`not deployed in us-east-1: ${absent.join(', ')}`] : []), ...(broken.length > 0 ? [`not usable: ${broken.join(', ')}`] : [])];
    const events = broken.length > 0 ? `; read why: aws cloudformation describe-stack-events --region us-east-1 --stack-name ${broken[0].split(' ')[0]}` : '';
    return failed(NAME, problems.join('; '), `${redeploy}${events}`);
  }
  return passed(NAME, `${expected.join(', ')} deployed in us-east-1`);
}
