import { OUTPUT_KEYS, STACK_NAMES } from '../../../names';
import { CheckVerdict, failed, passed, warned } from '../check-verdict';
import { DoctorFacts } from '../doctor-facts';

const NAME = 'stacks';

/** The outputs later steps read from each stack (render, comfyctl, doctor itself). */
const REQUIRED_OUTPUTS: Readonly<Record<string, readonly string[]>> = {
  [STACK_NAMES.ecrRepo]: [OUTPUT_KEYS.ecrRepositoryUri],
  [STACK_NAMES.outputsStorage]: [OUTPUT_KEYS.outputsBucketName],
  [STACK_NAMES.modelsSync]: [OUTPUT_KEYS.modelsBucketName, OUTPUT_KEYS.modelSyncQueueUrl, OUTPUT_KEYS.modelSyncLogGroupName],
  [STACK_NAMES.cluster]: [
    OUTPUT_KEYS.clusterName, OUTPUT_KEYS.region, OUTPUT_KEYS.kubeconfigCommand, OUTPUT_KEYS.targetGroupArn,
    OUTPUT_KEYS.karpenterNodeRoleName, OUTPUT_KEYS.clusterSecurityGroupId, OUTPUT_KEYS.nodeSyncBundleUrl,
  ],
  [STACK_NAMES.cloudFrontEntry]: [OUTPUT_KEYS.cloudFrontUrl],
};

/** CloudFormation's settled, usable states (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_Stack.html). */
export const USABLE_STACK_STATUSES: ReadonlySet<string> = new Set(['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE', 'IMPORT_COMPLETE']);

/**
 * Every stack of the deploy path exists in a usable state and the outputs file has the outputs later steps
 * read. The jobs stack is optional (config `jobs`); it is checked only when it exists.
 */
export function checkStacks(facts: DoctorFacts): CheckVerdict {
  const redeploy = `npx cdk deploy --all --outputs-file ${facts.outputsFile}`;
  if ('error' in facts.outputs) return failed(NAME, facts.outputs.error, redeploy);
  const outputs = facts.outputs.ok;
  const missingOutputs = Object.entries(REQUIRED_OUTPUTS).flatMap(([stack, keys]) =>
    keys.filter((key) => typeof outputs[stack]?.[key] !== 'string' || outputs[stack][key] === '').map((key) => `${stack}.${key}`));
  if ('error' in facts.stacks) {
    const detail = `CloudFormation not asked (${facts.stacks.error})`;
    if (missingOutputs.length > 0) return failed(NAME, `${facts.outputsFile} lacks ${missingOutputs.join(', ')}; ${detail}`, redeploy);
    return warned(NAME, `${facts.outputsFile} has every output; ${detail}`, 'check your AWS credentials and --region');
  }
  const statuses = facts.stacks.ok;
  const required = Object.keys(REQUIRED_OUTPUTS);
  const absent = required.filter((stack) => statuses[stack] === undefined);
  const broken = [...required, STACK_NAMES.jobs]
    .filter((stack) => statuses[stack] !== undefined && !USABLE_STACK_STATUSES.has(statuses[stack]))
    .map((stack) => `${stack} ${statuses[stack]}`);
  const problems = [
    ...(absent.length > 0 ? [`not deployed: ${absent.join(', ')}`] : []),
    ...(broken.length > 0 ? [`not usable: ${broken.join(', ')}`] : []),
    ...(missingOutputs.length > 0 ? [`${facts.outputsFile} lacks ${missingOutputs.join(', ')}`] : []),
  ];
  if (problems.length > 0) {
    const inProgress = broken.length > 0 && broken.every((b) => b.endsWith('_IN_PROGRESS')) && absent.length === 0;
    if (inProgress && missingOutputs.length === 0) return warned(NAME, problems.join('; '), 'wait for the deploy to finish, then run doctor again');
    const events = broken.length > 0 ? `; read why in the stack events (aws cloudformation describe-stack-events --stack-name ${broken[0].split(' ')[0]})` : '';
    return failed(NAME, problems.join('; '), `${redeploy}${events}`);
  }
  const jobs = statuses[STACK_NAMES.jobs] ? `, ${STACK_NAMES.jobs}` : '';
  return passed(NAME, `${required.join(', ')}${jobs} deployed; ${facts.outputsFile} has their outputs`);
}
