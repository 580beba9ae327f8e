import * as iam from 'aws-cdk-lib/aws-iam';

export interface ModelSyncPolicyProps {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
  readonly clusterName: string;
  readonly documentName: string;
}

/**
 * What the model-sync Lambda may do: send the sync document, only to instances of this cluster, and
 * find those instances and whether SSM can reach them.
 * - SendCommand is authorized on both the document and each target instance; the instance side is
 *   narrowed by the `eks:eks-cluster-name` tag Karpenter v1 puts on every node it launches
 *   (https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-rc-setting-up-cmdsec.html,
 *   https://karpenter.sh/docs/concepts/nodeclasses/#spectags).
 * - ec2:DescribeInstances supports no resource-level permission, so it needs `*`
 *   (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html).
 * - ssm:DescribeInstanceInformation (which nodes SSM reports Online, so commands skip nodes still booting)
 *   supports none either, so it needs `*` too
 *   (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html).
 */
export function modelSyncStatements(props: ModelSyncPolicyProps): iam.PolicyStatement[] {
  const { partition, region, account, clusterName, documentName } = props;
  return [
    new iam.PolicyStatement({
      sid: 'SendSyncDocument',
      actions: ['ssm:SendCommand'],
      resources: [`arn:${partition}:ssm:${region}:${account}:document/${documentName}`],
    }),
    new iam.PolicyStatement({
      sid: 'SendToClusterNodesOnly',
      actions: ['ssm:SendCommand'],
      resources: [`arn:${partition}:ec2:${region}:${account}:instance/*`],
      conditions: { StringEquals: { 'aws:ResourceTag/eks:eks-cluster-name': clusterName } },
    }),
    new iam.PolicyStatement({
      sid: 'FindClusterNodes',
      actions: ['ec2:DescribeInstances'],
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      sid: 'CheckNodesOnlineInSsm',
      actions: ['ssm:DescribeInstanceInformation'],
      resources: ['*'],
    }),
  ];
}
