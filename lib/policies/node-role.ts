import * as iam from 'aws-cdk-lib/aws-iam';

/**
 * AWS managed policies a Karpenter GPU node needs, and nothing more:
 * - AmazonEKSWorkerNodePolicy: join the cluster
 *   (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonEKSWorkerNodePolicy.html)
 * - AmazonEC2ContainerRegistryPullOnly: pull images from ECR, nothing else
 *   (https://docs.aws.amazon.com/AmazonECR/latest/userguide/security-iam-awsmanpol.html)
 * The SSM agent's permissions are inline (ssmAgentRunCommandStatements), not AmazonSSMManagedInstanceCore.
 * AmazonEKS_CNI_Policy stays off the node role: aws-node holds it through its own IRSA role
 * (VPC_CNI_MANAGED_POLICY, given to the VPC CNI add-on in the cluster stack).
 */
export const GPU_NODE_MANAGED_POLICIES = ['AmazonEKSWorkerNodePolicy', 'AmazonEC2ContainerRegistryPullOnly'] as const;

/**
 * What the SSM agent on a GPU node needs to receive the model-sync command (Run Command) and report back:
 * register and ping (ssm:UpdateInstanceInformation), and the two channels command documents arrive over:
 * ssmmessages (Message Gateway Service) when the agent can use it, else ec2messages (Message Delivery
 * Service) (https://docs.aws.amazon.com/systems-manager/latest/userguide/systems-manager-setting-up-messageAPIs.html).
 * Each action is one of AmazonSSMManagedInstanceCore's
 * (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonSSMManagedInstanceCore.html).
 *
 * Left out of that policy on purpose: ssm:GetParameter and ssm:GetParameters, on `*`: with them a foothold
 * on a GPU node reads every Parameter Store parameter of the account, SecureStrings under the default
 * aws/ssm key included (its key policy lets any principal of the account decrypt through SSM). The agent calls them only to resolve `{{ssm:name}}` references in a
 * document, and the model-sync document has none (its only parameters are its own). Nothing else on the
 * node reads parameters either: Karpenter resolves the EKS AMI's SSM parameters with its controller's role,
 * and the node's user data carries everything nodeadm needs. Also left out: ssm:GetDocument/DescribeDocument
 * (any document's content), GetManifest, PutInventory, PutComplianceItems, PutConfigurePackageResult,
 * GetDeployablePatchSnapshotForInstance and the association calls (ListAssociations,
 * ListInstanceAssociations, DescribeAssociation, Update(Instance)AssociationStatus), which serve State
 * Manager, Inventory, Patch Manager and Distributor; we use none of them. An agent without them logs
 * AccessDenied for its association poll and goes on running commands.
 *
 * All on `*`, as in the managed policy: the ssmmessages and ec2messages actions have no resource type
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonmessagegatewayservice.html,
 * list_amazonmessagedeliveryservice.html), and the narrowest form of ssm:UpdateInstanceInformation, this
 * account's `instance/*`, would still name every instance.
 */
export function ssmAgentRunCommandStatements(): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'SsmAgentRegistration',
      actions: ['ssm:UpdateInstanceInformation'],
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      sid: 'SsmAgentMessageGateway',
      actions: [
        'ssmmessages:CreateControlChannel',
        'ssmmessages:CreateDataChannel',
        'ssmmessages:OpenControlChannel',
        'ssmmessages:OpenDataChannel',
      ],
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      sid: 'SsmAgentMessageDelivery',
      actions: [
        'ec2messages:AcknowledgeMessage',
        'ec2messages:DeleteMessage',
        'ec2messages:FailMessage',
        'ec2messages:GetEndpoint',
        'ec2messages:GetMessages',
        'ec2messages:SendReply',
      ],
      resources: ['*'],
    }),
  ];
}

/**
 * What aws-node (the VPC CNI) needs to attach ENIs and assign pod IPs on every node; held by its IRSA role.
 * https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonEKS_CNI_Policy.html
 */
export const VPC_CNI_MANAGED_POLICY = 'AmazonEKS_CNI_Policy';

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
 * write streams in that group only. The boot-time sync writes its own stream there with the same actions
 * (lambda/model-sync/node/model_sync/boot_report.py), so `comfyctl models status` sees boot syncs too. The agent calls CreateLogGroup before every command without looking first
 * (amazon-ssm-agent agent/framework/processor/executer/iohandler/iohandler.go); on this one group's ARN it is
 * allowed, answers "already exists", and leaves no AccessDenied in CloudTrail on every sync. AWS's catalog lists no resource type for DescribeLogGroups, which means
 * `*` (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html; the
 * IAM lint, tools/iam_lint.py, warns on anything narrower). Nothing is lost: the call only lists names.
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-rc-setting-up-cwlogs.html
 */
export function modelSyncLogStatements(props: { partition: string; region: string; account: string; logGroupName: string }): iam.PolicyStatement[] {
  const groups = `arn:${props.partition}:logs:${props.region}:${props.account}:log-group`;
  return [
    new iam.PolicyStatement({
      sid: 'WriteModelSyncCommandOutput',
      actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
      resources: [`${groups}:${props.logGroupName}:*`],
    }),
    new iam.PolicyStatement({
      sid: 'FindModelSyncLogGroup',
      actions: ['logs:DescribeLogGroups'],
      resources: ['*'],
    }),
  ];
}

/**
 * Read the node-sync bundle (the CDK file asset of lambda/model-sync/node) that the EC2NodeClass user data
 * downloads at boot: that one object, nothing else in the asset bucket.
 *
 * The asset bucket of an account bootstrapped with `--bootstrap-customer-key` or `--bootstrap-kms-key-id` is
 * encrypted with a customer-managed key (the bootstrap template's StagingBucket, aws:kms). The key the
 * bootstrap creates admits any principal of the account through S3 in its key policy, but a key given with
 * `--bootstrap-kms-key-id` usually delegates to IAM, and then GetObject fails with AccessDenied unless the
 * role may call kms:Decrypt. So the role may decrypt with any key of the account, only when S3 asks on its
 * behalf (kms:ViaService) and only for this object (S3 sets the encryption context aws:s3:arn to the object's
 * ARN, or to the bucket's when S3 Bucket Keys are on). With the default AWS-managed key nothing is needed,
 * and the grant is unused.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html#encryption-context
 * https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service
 */
export function nodeSyncBundleReadStatements(props: {
  objectArn: string;
  bucketArn: string;
  keyArnPattern: string;
  region: string;
}): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({ sid: 'ReadNodeSyncBundle', actions: ['s3:GetObject'], resources: [props.objectArn] }),
    new iam.PolicyStatement({
      sid: 'DecryptNodeSyncBundleThroughS3',
      actions: ['kms:Decrypt'],
      resources: [props.keyArnPattern],
      conditions: {
        StringEquals: {
          'kms:ViaService': `s3.${props.region}.amazonaws.com`,
          'kms:EncryptionContext:aws:s3:arn': [props.objectArn, props.bucketArn],
        },
      },
    }),
  ];
}
