import { Stack } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { KEDA_NAMESPACE, KEDA_OPERATOR_SERVICE_ACCOUNT } from '../names';
import { kedaStatements, queueArn } from '../policies/keda';
import { podIdentityRole } from './pod-identity-role';

export interface KedaAccessProps {
  /** The cluster KEDA runs in. */
  readonly cluster: eks.ICluster;
  /**
   * Names of the queues KEDA reads the depth of, in this stack's account and region: the jobs and wake queues
   * (jobsQueueName, wakeQueueName of lib/names.ts). Plain names, so the policy holds plain ARNs and no export ties
   * this stack to the stacks that own the queues.
   */
  readonly queueNames: readonly string[];
  /** KEDA's namespace. @default KEDA_NAMESPACE */
  readonly namespace?: string;
  /** Service account of KEDA's operator, which runs the scalers. @default KEDA_OPERATOR_SERVICE_ACCOUNT */
  readonly serviceAccount?: string;
}

/**
 * KEDA operator's AWS credentials: an IAM role for EKS Pod Identity, trusted only for the operator's service
 * account in KEDA's namespace of this cluster (the session-tag conditions of PodOutputsAccess), allowed only to read
 * the depth of the jobs and wake queues (lib/policies/keda.ts). The ScaledObject's TriggerAuthentication uses
 * `podIdentity.provider: aws`, which keeps the AWS SDK's default credential chain that Pod Identity feeds.
 *
 * The queues are named, not referenced: they live in the jobs stack, deployed after this one, and KEDA only reads
 * them once they exist (a missing queue is a trigger error, which never blocks waking: docs/scaling.md).
 */
export class KedaAccess extends Construct {
  readonly role: iam.Role;
  readonly association: eks.CfnPodIdentityAssociation;

  constructor(scope: Construct, id: string, props: KedaAccessProps) {
    super(scope, id);
    const namespace = props.namespace ?? KEDA_NAMESPACE;
    const serviceAccount = props.serviceAccount ?? KEDA_OPERATOR_SERVICE_ACCOUNT;
    const { clusterName } = props.cluster;
    const stack = Stack.of(this);
    const { queueNames } = props;
    ({ role: this.role, association: this.association } = podIdentityRole(this, {
      clusterName,
      namespace,
      serviceAccount,
      description: `KEDA operator: read the depth of ${queueNames.join(' and ')}`,
      inlinePolicies: {
        ReadQueueDepth: new iam.PolicyDocument({
          statements: kedaStatements({
            queueArns: queueNames.map((name) => queueArn(stack.partition, stack.region, stack.account, name)),
          }),
        }),
      },
    }));
  }
}

/**
 * Makes KEDA's Helm chart wait for the operator's Pod Identity association: the EKS Pod Identity webhook injects
 * the credentials only when a pod is created, so an operator started before the association would read no queue
 * until restarted. Finds the chart as installChartsAfterSystemNodes does, and fails synth when it is not there.
 */
export function installKedaAfterAccess(cluster: eks.Cluster, access: KedaAccess, chartName = 'keda'): void {
  const charts = cluster.node.findAll().filter((c): c is eks.HelmChart => c instanceof eks.HelmChart && c.chart === chartName);
  if (charts.length !== 1) {
    throw new Error(`expected one '${chartName}' Helm chart in the cluster, found ${charts.length}: update lib/constructs/keda-access.ts`);
  }
  charts[0].node.addDependency(access.association);
}
