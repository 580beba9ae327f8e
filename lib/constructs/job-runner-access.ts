import * as eks from 'aws-cdk-lib/aws-eks';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { COMFYUI_NAMESPACE, JOB_RUNNER_SERVICE_ACCOUNT } from '../names';
import { jobRunnerStatements, JobRunnerScope } from '../policies/job-runner';
import { podIdentityPrincipal } from '../policies/pod-identity-principal';

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
    this.role = new iam.Role(this, 'Role', {
      description: `ComfyUI job runner: take jobs from the jobs queue, update them, upload outputs under ${props.outputsKeyPrefix}`,
      assumedBy: podIdentityPrincipal({ clusterName: props.clusterName, namespace, serviceAccount }),
      inlinePolicies: { RunJobs: new iam.PolicyDocument({ statements: jobRunnerStatements(props) }) },
    });
    this.association = new eks.CfnPodIdentityAssociation(this, 'Association', {
      clusterName: props.clusterName,
      namespace,
      serviceAccount,
      roleArn: this.role.roleArn,
      // The trust policy's conditions read the session tags: with them off, the role could not be assumed.
      disableSessionTags: false,
    });
  }
}
