import { AppStacks } from './app-stacks';
import { AppConfig } from './config';
import { Acknowledgement, applyAcknowledgements } from './nag-acknowledgement';
import { JOBS } from './jobs/contract';
import { defaultTemplatesBucketName, modelSyncLogGroupName, OUTPUTS_KEY_PREFIX } from './names';
import { prometheusLogGroupName } from './constructs/comfyui-metrics-scraper';
import { containerInsightsLogGroupPrefix } from './policies/cloudwatch-agent';
import { POD_NAME_VARIABLE } from './policies/pod-outputs';

// Every cdk-nag acknowledgement of the app, each with its reason; lib/nag-acknowledgement.ts says how a rule
// is written and applies them.

const LOG_BUCKET = 'A log bucket does not log its own access: that would log forever. It holds only access logs.';
const EKS_PROVIDERS =
  'aws-eks cluster/kubectl custom-resource providers (AWS CDK framework code): they manage a cluster whose name ' +
  'and ARN CloudFormation only knows at deploy time, with the AWS-documented basic Lambda execution policies.';

const LAMBDA_BASIC = 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]';
const managed = (name: string) => `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/${name}]`;
/** An IAM5 finding: a wildcard in a statement's resource, as cdk-nag prints it. */
const wildcard = (resource: string) => `AwsSolutions-IAM5[Resource::${resource}]`;
/**
 * lambda:InvokeFunction on `<function ARN>:*` (any version of one function), which CDK's provider framework
 * grants for its own handlers; the ARN is a GetAtt of the handler's generated logical ID.
 */
const PROVIDER_HANDLER_VERSIONS = wildcard('<**.Arn>:*');
/**
 * aws-eks attaches ECR Public read-only to the kubectl handler's role only in regions that have ECR Public,
 * behind a condition whose logical ID CDK generates.
 */
const ECR_PUBLIC_READ_IF_AVAILABLE =
  'AwsSolutions-IAM4[Policy::{"Fn::If":["**",{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},' +
  '":iam::aws:policy/AmazonElasticContainerRegistryPublicReadOnly"]]},{"Ref":"AWS::NoValue"}]}]';

/** The calling pod's name (an IAM policy variable, `${...}`) as cdk-nag prints it: `<...>`. */
const NAG_POD_NAME = POD_NAME_VARIABLE.replace(/^\$\{(.*)\}$/, '<$1>');

/**
 * The resource types of Karpenter's node-lifecycle policy (eks-blueprints 1.19.0's copy of Karpenter's
 * controller policy): any account (`*`, or none for AMIs and snapshots), this region.
 */
const KARPENTER_NODE_LIFECYCLE_RESOURCES = [
  ':*:launch-template/*', ':*:security-group/*', ':*:spot-instances-request/*', ':*:subnet/*', '::image/*',
  '::snapshot/*', ':*:fleet/*', ':*:instance/*', ':*:network-interface/*', ':*:volume/*',
];

function clusterAcknowledgements(config: AppConfig): Acknowledgement[] {
  const { region, account, clusterName } = config;
  const arn = (service: string, rest: string) => `arn:<AWS::Partition>:${service}:${region}:${rest}`;
  return [
    {
      path: '@aws-cdk--aws-eks.ClusterResourceProvider',
      rules: [LAMBDA_BASIC, PROVIDER_HANDLER_VERSIONS, 'AwsSolutions-SF1', 'AwsSolutions-SF2'],
      reason: EKS_PROVIDERS,
    },
    {
      path: '@aws-cdk--aws-eks.KubectlProvider',
      rules: [LAMBDA_BASIC, managed('service-role/AWSLambdaVPCAccessExecutionRole'), PROVIDER_HANDLER_VERSIONS, 'AwsSolutions-L1'],
      reason: EKS_PROVIDERS,
    },
    {
      path: '$CLUSTER/KubectlHandlerRole',
      rules: [
        LAMBDA_BASIC,
        managed('service-role/AWSLambdaVPCAccessExecutionRole'),
        managed('AmazonEC2ContainerRegistryPullOnly'),
        ECR_PUBLIC_READ_IF_AVAILABLE,
      ],
      reason: EKS_PROVIDERS,
    },
    {
      path: '$CLUSTER/Resource/CreationRole',
      rules: [
        wildcard('*'),
        wildcard(arn('eks', `${account}:cluster/${clusterName}/*`)),
        wildcard(arn('eks', `${account}:fargateprofile/${clusterName}/*`)),
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
        wildcard(`arn:<AWS::Partition>:s3:::${config.modelsBucketName}/*`),
        wildcard(arn('logs', `${account}:log-group:${modelSyncLogGroupName(clusterName)}:*`)),
        wildcard('*'),
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
      rules: [wildcard(arn('kms', `${account}:key/*`))],
      reason:
        'kms:Decrypt for the node-sync bundle in a customer-key CDK asset bucket, whose key id lives in the bootstrap stack: ' +
        'only through S3 (kms:ViaService) and only for that object (kms:EncryptionContext:aws:s3:arn).',
    },
    {
      path: '$CLUSTER/aws-load-balancer-controller/Role',
      rules: [wildcard('*')],
      reason:
        'Load Balancer Controller, cut down to our one TargetGroupBinding: the EC2 and Elastic Load Balancing Describe ' +
        'actions of its published policy, which have no resource-level permission; it may register targets only ' +
        'in the ComfyUI target group and change nothing else.',
    },
    ...([
      ['iam-integration', [wildcard('*')]],
      ['node-lifecycle', KARPENTER_NODE_LIFECYCLE_RESOURCES.map((rest) => wildcard(`arn:<AWS::Partition>:ec2:${region}${rest}`))],
      ['resource-discovery', [wildcard('*'), wildcard(arn('ssm', ':parameter/aws/service/*'))]],
      ['zonal-shift', [wildcard('*')]],
    ] as const).map(([name, rules]) => ({
      path: `$CLUSTER/blueprints-addon-karpenter-${name}-policy`,
      rules,
      reason: "Karpenter's published controller policy: it launches and terminates instances it names at runtime, scoped by cluster tags.",
    })),
    {
      path: 'PodOutputsAccess/Role',
      rules: [wildcard(`arn:<AWS::Partition>:s3:::${config.outputsBucketName}/${OUTPUTS_KEY_PREFIX}${NAG_POD_NAME}/*`)],
      reason:
        "ComfyUI pods' Mountpoint (EKS Pod Identity, pod-level credentials): each session may look up, write and " +
        'replace objects only in its own folder of the outputs bucket, named by the kubernetes-pod-name session tag ' +
        'that Pod Identity takes from the pod\'s token; no delete, nothing in other pods\' folders.',
    },
    {
      path: 'karpenter-queue',
      rules: ['AwsSolutions-SQS3'],
      reason: 'Karpenter interruption events are only useful for minutes (5-minute retention); a dead-letter queue would hold stale events.',
    },
    { path: 'ComfyuiLoadBalancer/AccessLogs', rules: ['AwsSolutions-S1'], reason: LOG_BUCKET },
    ...(config.operations ? cloudWatchAgentAcknowledgements(config) : []),
  ];
}

/** The CloudWatch agents' roles (config `operations`): lib/policies/cloudwatch-agent.ts, lib/constructs/comfyui-metrics-scraper.ts. */
function cloudWatchAgentAcknowledgements(config: AppConfig): Acknowledgement[] {
  const groups = `arn:<AWS::Partition>:logs:${config.region}:${config.account}:log-group:${containerInsightsLogGroupPrefix(config.clusterName)}*`;
  const prometheusGroup = `arn:<AWS::Partition>:logs:${config.region}:${config.account}:log-group:${prometheusLogGroupName(config.clusterName)}`;
  return [
    {
      path: 'CloudWatchAgentRole',
      rules: [wildcard(groups), wildcard(`${groups}:log-stream:*`), wildcard('*')],
      reason:
        "CloudWatch agent and Fluent Bit (EKS Pod Identity): create and write this cluster's Container Insights log groups, " +
        'whose streams they name per node and pod at run time; ec2:DescribeTags and ec2:DescribeVolumes support no ' +
        'resource-level permission.',
    },
    {
      path: 'ComfyuiMetricsScraper/Role',
      rules: [wildcard(`${prometheusGroup}:log-stream:*`)],
      reason: "ComfyUI metrics scraper (EKS Pod Identity): writes the streams, named at run time, of this cluster's one Prometheus log group.",
    },
  ];
}

function modelsSyncAcknowledgements(config: AppConfig): Acknowledgement[] {
  return [
    {
      path: 'ModelSync/Role',
      rules: [wildcard('*'), wildcard(`arn:<AWS::Partition>:ec2:${config.region}:${config.account}:instance/*`)],
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
}

/** The jobs stack's: object ARNs under one key folder each, and the one DynamoDB Streams action without a resource type. */
function jobsAcknowledgements(config: AppConfig): Acknowledgement[] {
  const bucket = (name: string, prefix: string) => `arn:<AWS::Partition>:s3:::${name}/${prefix}*`;
  const jobOutputs = wildcard(bucket(config.outputsBucketName, JOBS.outputsKeyPrefix));
  return [
    {
      path: 'Api/Api/Role',
      rules: [wildcard(bucket(defaultTemplatesBucketName(config.account, config.region), JOBS.templatesKeyPrefix)), jobOutputs],
      reason:
        `Jobs API: publishes, reads and deletes templates, whose keys it makes at run time, only under ${JOBS.templatesKeyPrefix} ` +
        `of the templates bucket; reads job outputs (to presign their downloads) only under ${JOBS.outputsKeyPrefix} of the outputs bucket.`,
    },
    {
      path: 'RunnerAccess/Role',
      rules: [jobOutputs],
      reason:
        `Job runner (EKS Pod Identity): uploads each job's outputs, named at run time, only under ${JOBS.outputsKeyPrefix} of the ` +
        'outputs bucket; no read, list or delete.',
    },
    {
      path: 'Webhooks/Webhooks/Role',
      rules: [wildcard('*')],
      reason:
        "dynamodb:ListStreams, which the table's stream event source needs, supports no resource-level permission " +
        '(https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html); the stream reads are on the stream ARN.',
    },
  ];
}

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

/**
 * The CloudFront stack's acknowledgements; CFR2 (no WAF) only arises while the `waf` config key is off, SQS3 only
 * with the wake queue (autoscaling on).
 */
function cloudFrontAcknowledgements(waf: boolean, wake: boolean): Acknowledgement[] {
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
    ...(wake
      ? [{
          path: 'WakeQueue/Queue',
          rules: ['AwsSolutions-SQS3'],
          reason: 'The wake queue is never received from: KEDA reads its depth and each visit expires after 60 s, so no message can fail into a dead-letter queue.',
        }]
      : []),
    waf
      ? { path: 'Edge/Distribution', rules: ['AwsSolutions-CFR1', 'AwsSolutions-CFR4'], reason: `${cfr1} ${cfr4}` }
      : { path: 'Edge/Distribution', rules: ['AwsSolutions-CFR1', 'AwsSolutions-CFR2', 'AwsSolutions-CFR4'], reason: `${cfr1} ${cfr2} ${cfr4}` },
  ];
}

/** Applies every acknowledgement; a path that no longer exists fails synth so stale entries cannot pile up. */
export function acknowledgeNagFindings(stacks: AppStacks): void {
  const { config } = stacks.cluster;
  const cluster = [...clusterAcknowledgements(config), ...publicEndpointAcknowledgements(config.clusterEndpointPublicCidrs)];
  applyAcknowledgements(stacks.cluster.stack, cluster, stacks.cluster.cluster.node.id);
  applyAcknowledgements(stacks.modelsSync, modelsSyncAcknowledgements(config));
  if (stacks.jobs) applyAcknowledgements(stacks.jobs, jobsAcknowledgements(config));
  if (stacks.cloudFrontEntry) {
    const wake = stacks.cloudFrontEntry.wakeQueue !== undefined;
    applyAcknowledgements(stacks.cloudFrontEntry, cloudFrontAcknowledgements(stacks.edgeWebAcl !== undefined, wake));
  }
}
