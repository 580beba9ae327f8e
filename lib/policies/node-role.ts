import * as iam from 'aws-cdk-lib/aws-iam';

/**
 * AWS managed policies a Karpenter GPU node needs, and nothing more:
 * - AmazonEKSWorkerNodePolicy: join the cluster
 *   (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonEKSWorkerNodePolicy.html)
 * - AmazonEC2ContainerRegistryPullOnly: pull images from ECR, nothing else
 *   (https://docs.aws.amazon.com/AmazonECR/latest/userguide/security-iam-awsmanpol.html)
 * - AmazonSSMManagedInstanceCore: receive the model-sync SSM command
 *   (https://docs.aws.amazon.com/systems-manager/latest/userguide/setup-instance-permissions.html)
 * The VPC CNI gets its own IRSA role, so AmazonEKS_CNI_Policy stays off the node role.
 */
export const GPU_NODE_MANAGED_POLICIES = [
  'AmazonEKSWorkerNodePolicy',
  'AmazonEC2ContainerRegistryPullOnly',
  'AmazonSSMManagedInstanceCore',
] as const;

/**
 * Read-only access to the models bucket for the node-side model sync (list + get, no write, no delete).
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html
 */
export function modelsBucketReadStatements(bucketArn: string): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'ListModelsBucket',
      actions: ['s3:ListBucket', 's3:GetBucketLocation'],
      resources: [bucketArn],
    }),
    new iam.PolicyStatement({
      sid: 'ReadModels',
      actions: ['s3:GetObject'],
      resources: [`${bucketArn}/*`],
    }),
  ];
}

/**
 * What the SSM agent needs to stream the model-sync command's output to its CloudWatch log group:
 * write streams in that group only; DescribeLogGroups has no resource-level scoping below `log-group:*`.
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-rc-setting-up-cwlogs.html
 */
export function modelSyncLogStatements(props: { partition: string; region: string; account: string; logGroupName: string }): iam.PolicyStatement[] {
  const groups = `arn:${props.partition}:logs:${props.region}:${props.account}:log-group`;
  return [
    new iam.PolicyStatement({
      sid: 'WriteModelSyncCommandOutput',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
      resources: [`${groups}:${props.logGroupName}:*`],
    }),
    new iam.PolicyStatement({
      sid: 'FindModelSyncLogGroup',
      actions: ['logs:DescribeLogGroups'],
      resources: [`${groups}:*`],
    }),
  ];
}

/**
 * Read the node-sync bundle (the CDK file asset of lambda/model-sync/node) that the EC2NodeClass user data
 * downloads at boot: that one object, nothing else in the asset bucket.
 */
export function nodeSyncBundleReadStatements(objectArn: string): iam.PolicyStatement[] {
  return [new iam.PolicyStatement({ sid: 'ReadNodeSyncBundle', actions: ['s3:GetObject'], resources: [objectArn] })];
}
