import * as eks from 'aws-cdk-lib/aws-eks';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { COMFYUI_NAMESPACE, JOB_RUNNER_SERVICE_ACCOUNT } from '../names';
import { jobRunnerStatements, JobRunnerScope } from '../policies/job-runner';
import { podIdentityRole } from './pod-identity-role';

export interface JobRunnerAccessProps extends JobRunnerScope {
  /** Name of the cluster the runner's Deployment runs in; the cluster must exist before this association. */
  readonly clusterName: string;
  /** @default COMFYUI_NAMESPACE */
  readonly namespace?: string;
  /** @default JOB_RUNNER_SERVICE_ACCOUNT */
  readonly serviceAccount?: string;
}

/**
 * The job runner's AWS credentials (docs/jobs.md, "Runner": it holds the only AWS credentials of the job path): an
 * IAM role for EKS Pod Identity, trusted only for the runner's service account in the ComfyUI namespace of this
 * cluster (the same session-tag conditions as PodOutputsAccess), allowed only the jobs queue, the job items and
 * `jobs/` of the outputs bucket (lib/policies/job-runner.ts).
 */
export class JobRunnerAccess extends Construct {
  readonly role: iam.Role;
  readonly association: eks.CfnPodIdentityAssociation;

  constructor(scope: Construct, id: string, props: JobRunnerAccessProps) {
    super(scope, id);
    const namespace = props.namespace ?? COMFYUI_NAMESPACE;
    const serviceAccount = props.serviceAccount ?? JOB_RUNNER_SERVICE_ACCOUNT;
    ({ role: this.role, association: this.association } = podIdentityRole(this, {
      clusterName: props.clusterName,
      namespace,
      serviceAccount,
      description: `ComfyUI job runner: take jobs from the jobs queue, update them, upload outputs under ${props.outputsKeyPrefix}`,
      inlinePolicies: { RunJobs: new iam.PolicyDocument({ statements: jobRunnerStatements(props) }) },
    }));
  }
}
