import { CfnResource, Stack, Validations } from 'aws-cdk-lib';
import { rules as nagRules } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { AppStacks } from './app-stacks';

/**
 * One cdk-nag acknowledgement: the construct (path below its stack; `$CLUSTER` is the EKS cluster's id),
 * the rules it acknowledges, and why. IAM4/IAM5 report one finding per policy or wildcard, so those rules
 * are written `AwsSolutions-IAM5[Resource::...]`; in a finding, `**` stands for any text, so a finding
 * nobody expected (a new wildcard) still fails synth.
 */
interface Acknowledgement {
  readonly path: string;
  readonly rules: readonly string[];
  readonly reason: string;
}

const LOG_BUCKET = 'A log bucket does not log its own access: that would log forever. It holds only access logs.';
const EKS_PROVIDERS =
  'aws-eks cluster/kubectl custom-resource providers (AWS CDK framework code): they manage a cluster whose name ' +
  'and ARN CloudFormation only knows at deploy time, with the AWS-documented basic Lambda execution policies.';

const LAMBDA_BASIC = 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]';
const managed = (name: string) => `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/${name}]`;

const CLUSTER: Acknowledgement[] = [
  {
    path: '@aws-cdk--aws-eks.ClusterResourceProvider',
    rules: [LAMBDA_BASIC, 'AwsSolutions-IAM5[Resource::<**.Arn>:*]', 'AwsSolutions-SF1', 'AwsSolutions-SF2'],
    reason: EKS_PROVIDERS,
  },
  {
    path: '@aws-cdk--aws-eks.KubectlProvider',
    rules: [LAMBDA_BASIC, managed('service-role/AWSLambdaVPCAccessExecutionRole'), 'AwsSolutions-IAM5[Resource::<**.Arn>:*]', 'AwsSolutions-L1'],
    reason: EKS_PROVIDERS,
  },
  {
    path: '$CLUSTER/KubectlHandlerRole',
    rules: [
      LAMBDA_BASIC,
      managed('service-role/AWSLambdaVPCAccessExecutionRole'),
      managed('AmazonEC2ContainerRegistryPullOnly'),
      'AwsSolutions-IAM4[Policy::{"Fn::If":**AmazonElasticContainerRegistryPublicReadOnly**]',
    ],
    reason: EKS_PROVIDERS,
  },
  {
    path: '$CLUSTER/Resource/CreationRole',
    rules: [
      'AwsSolutions-IAM5[Resource::*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:eks:**:cluster/**/*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:eks:**:fargateprofile/**/*]',
    ],
    reason: EKS_PROVIDERS,
  },
  {
    path: '$CLUSTER/Role',
    rules: [managed('AmazonEKSClusterPolicy')],
    reason: 'AmazonEKSClusterPolicy is the policy EKS documents for the cluster service role.',
  },
  {
    path: '$CLUSTER/Nodegroupsystem-ng/NodeGroupRole',
    rules: [managed('AmazonEKSWorkerNodePolicy'), managed('AmazonEKS_CNI_Policy'), managed('AmazonEC2ContainerRegistryReadOnly')],
    reason: 'System node group: the AWS managed worker-node, CNI and ECR read-only policies EKS documents for managed node groups.',
  },
  {
    path: '$CLUSTER/karpenter-node-role',
    rules: [
      managed('AmazonEKSWorkerNodePolicy'),
      managed('AmazonEC2ContainerRegistryPullOnly'),
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::**/*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:**:log-group:/comfyui/**/model-sync:*]',
      'AwsSolutions-IAM5[Resource::*]',
    ],
    reason:
      'GPU node role: the AWS managed policies EKS documents for worker nodes (join, ECR pull-only); the SSM ' +
      "agent's Run Command actions (registration, ssmmessages and ec2messages, which have no resource type; no " +
      'Parameter Store read); read-only access to the objects of the models bucket (s3:GetObject on bucket/*); ' +
      "and the agent's CloudWatch output for the model-sync command: streams of that one log group, plus " +
      'DescribeLogGroups, which has no narrower resource.',
  },
  {
    path: '$CLUSTER/aws-node-sa/Role',
    rules: [managed('AmazonEKS_CNI_Policy')],
    reason: "aws-node's IRSA role: AmazonEKS_CNI_Policy is the policy EKS documents for the VPC CNI (ENIs and pod IPs on every node).",
  },
  {
    path: 'NodeSyncBundle/NodeRead',
    rules: ['AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:**:key/*]'],
    reason:
      'kms:Decrypt for the node-sync bundle in a customer-key CDK asset bucket, whose key id lives in the bootstrap stack: ' +
      'only through S3 (kms:ViaService) and only for that object (kms:EncryptionContext:aws:s3:arn).',
  },
  {
    path: '$CLUSTER/aws-load-balancer-controller/Role',
    rules: ['AwsSolutions-IAM5[Resource::*]'],
    reason:
      'Load Balancer Controller, cut down to our one TargetGroupBinding: the EC2 and Elastic Load Balancing Describe ' +
      'actions of its published policy, which have no resource-level permission; it may register targets only ' +
      'in the ComfyUI target group and change nothing else.',
  },
  ...[
    ['iam-integration', 'AwsSolutions-IAM5[Resource::*]'],
    ['node-lifecycle', 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:**]'],
    ['resource-discovery', 'AwsSolutions-IAM5[Resource::*]'],
    ['resource-discovery', 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:**:parameter/aws/service/*]'],
    ['zonal-shift', 'AwsSolutions-IAM5[Resource::*]'],
  ].map(([name, rule]) => ({
    path: `$CLUSTER/blueprints-addon-karpenter-${name}-policy`,
    rules: [rule],
    reason: "Karpenter's published controller policy: it launches and terminates instances it names at runtime, scoped by cluster tags.",
  })),
  {
    path: '$CLUSTER/s3-csi-driver-policy',
    rules: ['AwsSolutions-IAM5[Resource::arn:aws:s3:::**/*]'],
    reason: 'Mountpoint S3 CSI driver: object access limited to the objects of the outputs bucket.',
  },
  {
    path: 'karpenter-queue',
    rules: ['AwsSolutions-SQS3'],
    reason: 'Karpenter interruption events are only useful for minutes (5-minute retention); a dead-letter queue would hold stale events.',
  },
  { path: 'ComfyuiLoadBalancer/AccessLogs', rules: ['AwsSolutions-S1'], reason: LOG_BUCKET },
];


const MODELS_SYNC: Acknowledgement[] = [
  {
    path: 'ModelSync/Role',
    rules: ['AwsSolutions-IAM5[Resource::*]', 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:**:instance/*]'],
    reason:
      'ec2:DescribeInstances and ssm:DescribeInstanceInformation support no resource-level permission; ' +
      'ssm:SendCommand on instance/* is limited by the ' +
      "eks:eks-cluster-name tag condition to this cluster's nodes.",
  },
  {
    path: 'BucketNotificationsHandler050a0587b7544547bf325f094a3db834',
    rules: [LAMBDA_BASIC],
    reason: "AWS CDK's S3 notifications handler with the basic Lambda execution policy.",
  },
];

/** EKS1 (public API endpoint) arises only when clusterEndpointPublicCidrs lists networks; by default the endpoint is private. */
function publicEndpointAcknowledgements(publicCidrs: readonly string[]): Acknowledgement[] {
  if (publicCidrs.length === 0) return [];
  return [
    {
      path: '$CLUSTER/Resource/Resource/Default',
      rules: ['AwsSolutions-EKS1'],
      reason:
        `The Kubernetes API endpoint is public only to clusterEndpointPublicCidrs (${publicCidrs.join(', ')}), so ` +
        "engineers' kubectl works from there; every call still needs IAM authentication.",
    },
  ];
}

/** The CloudFront stack's acknowledgements; CFR2 (no WAF) only arises while the `waf` config key is off. */
function cloudFrontAcknowledgements(waf: boolean): Acknowledgement[] {
  const cfr1 = 'CFR1: studios work from anywhere, so no geo restriction by default.';
  const cfr2 = 'CFR2: edge authentication (a CloudFront Function on every request) guards ComfyUI; WAF is an opt-in cost (waf=true).';
  const cfr4 =
    'CFR4: the default *.cloudfront.net certificate cannot set a minimum TLS version; TLSv1.2_2021 applies once a ' +
    'custom domain and certificate are configured.';
  return [
    { path: 'Edge/AccessLogs', rules: ['AwsSolutions-S1'], reason: LOG_BUCKET },
    {
      path: 'VpcOriginIngress/ServiceGroupLookup/CustomResourcePolicy',
      rules: ['AwsSolutions-IAM5[Resource::*]'],
      reason: 'ec2:DescribeSecurityGroups supports no resource-level permission; the call only reads.',
    },
    {
      path: 'AWS679f53fac002430cb0da5b7982bd2287',
      rules: [LAMBDA_BASIC],
      reason: "AWS CDK's AwsCustomResource singleton (the VPC-origin security group lookup) with the basic Lambda execution policy.",
    },
    waf
      ? { path: 'Edge/Distribution', rules: ['AwsSolutions-CFR1', 'AwsSolutions-CFR4'], reason: `${cfr1} ${cfr4}` }
      : { path: 'Edge/Distribution', rules: ['AwsSolutions-CFR1', 'AwsSolutions-CFR2', 'AwsSolutions-CFR4'], reason: `${cfr1} ${cfr2} ${cfr4}` },
  ];
}

/** Applies every acknowledgement; a path that no longer exists fails synth so stale entries cannot pile up. */
export function acknowledgeNagFindings(stacks: AppStacks): void {
  const clusterAcknowledgements = [...CLUSTER, ...publicEndpointAcknowledgements(stacks.cluster.config.clusterEndpointPublicCidrs)];
  apply(stacks.cluster.stack, clusterAcknowledgements, stacks.cluster.cluster.node.id);
  apply(stacks.modelsSync, MODELS_SYNC);
  if (stacks.cloudFrontEntry) {
    apply(stacks.cloudFrontEntry, cloudFrontAcknowledgements(stacks.edgeWebAcl !== undefined));
  }
}

function apply(stack: Stack, acknowledgements: Acknowledgement[], clusterId = ''): void {
  for (const { path, rules, reason } of acknowledgements) {
    const construct = findByPath(stack, path.replace('$CLUSTER', clusterId));
    for (const rule of rules) {
      const granular = /^(AwsSolutions-IAM[45])\[(.+)\]$/.exec(rule);
      if (granular) acknowledgeFindings(construct, granular[1], granular[2], reason);
      else Validations.of(construct).acknowledge({ id: rule, reason });
    }
  }
}

const IAM_RULES: Record<string, (node: CfnResource) => unknown> = {
  'AwsSolutions-IAM4': nagRules.iam.IAMNoManagedPolicies,
  'AwsSolutions-IAM5': nagRules.iam.IAMNoWildcardPermissions,
};

/**
 * Runs the IAM rule over every resource below `construct` and acknowledges each finding that matches
 * `pattern`, by its exact id, on the resource that produced it.
 */
function acknowledgeFindings(construct: IConstruct, ruleId: string, pattern: string, reason: string): void {
  const matcher = new RegExp(`^${pattern.split('**').map(escapeRegExp).join('.*')}$`);
  let matched = false;
  for (const node of construct.node.findAll()) {
    if (!(node instanceof CfnResource)) continue;
    const findings = IAM_RULES[ruleId](node);
    if (!Array.isArray(findings)) continue;
    for (const finding of findings as string[]) {
      if (!matcher.test(finding)) continue;
      recordAcknowledgement(node, `${ruleId}[${finding}]`, reason);
      matched = true;
    }
  }
  if (!matched) {
    throw new Error(`cdk-nag acknowledgement ${ruleId}[${pattern}] on '${construct.node.path}' matches no finding; update lib/nag.ts`);
  }
}

/**
 * Writes the acknowledgement into the construct metadata cdk-nag reads. `Validations.acknowledge()` would
 * write the same entry, but rejects IDs holding '::', and every IAM finding holds one (`Policy::arn:...`).
 */
function recordAcknowledgement(node: IConstruct, id: string, reason: string): void {
  node.node.addMetadata(Validations.ACKNOWLEDGED_RULES_METADATA_KEY, { [id]: reason });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function findByPath(stack: Stack, path: string): IConstruct {
  let current: IConstruct = stack;
  for (const id of path.split('/')) {
    const child = current.node.tryFindChild(id);
    if (!child) throw new Error(`cdk-nag acknowledgement for '${stack.node.id}/${path}': no such construct; update lib/nag.ts`);
    current = child;
  }
  return current;
}
