import { COMFYUI_NAMESPACE, STACK_NAMES } from '../../../names';
import { valueOf } from '../answers';
import { CheckVerdict, failed, passed, warned } from '../check-verdict';
import { DoctorFacts } from '../doctor-facts';
import { applyOverlay, notCheckedWithoutCluster } from '../next-steps';

const NAME = 'job-runner';

/** The job runner's Deployment (manifests/base/job-runner.yaml). */
export const JOB_RUNNER_DEPLOYMENT = 'job-runner';

/** Whether the jobs stack is part of this deployment: in the outputs file, or found in CloudFormation. */
export function jobsDeployed(facts: DoctorFacts): boolean {
  return valueOf(facts.outputs)?.[STACK_NAMES.jobs] !== undefined || valueOf(facts.stacks)?.[STACK_NAMES.jobs] !== undefined;
}

/** With jobs on, the job runner Deployment has every replica ready; without, there is nothing to check. */
export function checkJobRunner(facts: DoctorFacts): CheckVerdict {
  if (!jobsDeployed(facts)) return passed(NAME, `jobs off (no ${STACK_NAMES.jobs} stack): no job runner expected`);
  const { deployments } = facts.cluster;
  if ('error' in deployments) return notCheckedWithoutCluster(NAME, deployments.error);
  const where = `${COMFYUI_NAMESPACE}/${JOB_RUNNER_DEPLOYMENT}`;
  const logs = `kubectl -n ${COMFYUI_NAMESPACE} describe deploy ${JOB_RUNNER_DEPLOYMENT}; kubectl -n ${COMFYUI_NAMESPACE} logs deploy/${JOB_RUNNER_DEPLOYMENT}`;
  const deployment = deployments.ok.find((d) => d.metadata.name === JOB_RUNNER_DEPLOYMENT && d.metadata.namespace === COMFYUI_NAMESPACE);
  if (!deployment) return failed(NAME, `Deployment ${where} missing: submitted jobs wait in the queue`, applyOverlay(facts.outputsFile));
  const wanted = deployment.spec?.replicas ?? 1;
  const ready = deployment.status?.readyReplicas ?? 0;
  if (wanted === 0) {
    return warned(NAME, `${where} scaled to 0 (config jobRunnerReplicas): nobody takes jobs, they wait in the queue`,
      `deploy with jobRunnerReplicas=1 or more, then ${applyOverlay(facts.outputsFile)}`);
  }
  if (ready < wanted) return failed(NAME, `${ready}/${wanted} replicas of ${where} ready`, logs);
  return passed(NAME, `${ready}/${wanted} replicas of ${where} ready`);
}
