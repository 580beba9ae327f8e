import { albSubnetsCidr } from '../alb-subnets';
import { AppConfig, CLUSTER_NAME_PATTERN, REGION_PATTERN } from '../config';
import { CIDR_PATTERN } from '../config-values';
import { ECR_REPOSITORY_NAME, jobsQueueName, OUTPUT_KEYS, STACK_NAMES } from '../names';

/** What the manifests need from the deployed stacks. */
export interface StackValues {
  readonly clusterName: string;
  readonly region: string;
  readonly karpenterNodeRoleName: string;
  readonly clusterSecurityGroupId: string;
  readonly targetGroupArn: string;
  readonly albSubnetsCidr: string;
  readonly vpcCidr: string;
  readonly nodeSyncBundleUrl: string;
  readonly modelsBucketName: string;
  readonly outputsBucketName: string;
  readonly ecrRepositoryUri: string;
}

/** What the job runner's manifest needs from the jobs stack, which exists only when config `jobs` is on. */
export interface JobsStackValues {
  readonly jobsQueueUrl: string;
  readonly jobsTableName: string;
}

interface Source {
  readonly stack: string;
  readonly output: string;
  /** What a valid value looks like, and how to say so. */
  readonly pattern: RegExp;
  readonly expected: string;
  /** What else fixes a missing value, after deploying its stack. */
  readonly otherwise?: string;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Where each value comes from in `cdk deploy --outputs-file` output, and what it must look like. */
export const STACK_VALUE_SOURCES: Record<keyof StackValues, Source> = {
  clusterName: { stack: STACK_NAMES.cluster, output: OUTPUT_KEYS.clusterName, pattern: CLUSTER_NAME_PATTERN, expected: 'an EKS cluster name' },
  region: { stack: STACK_NAMES.cluster, output: OUTPUT_KEYS.region, pattern: REGION_PATTERN, expected: 'an AWS region' },
  karpenterNodeRoleName: { stack: STACK_NAMES.cluster, output: OUTPUT_KEYS.karpenterNodeRoleName, pattern: /^[\w+=,.@-]{1,64}$/, expected: 'an IAM role name' },
  clusterSecurityGroupId: { stack: STACK_NAMES.cluster, output: OUTPUT_KEYS.clusterSecurityGroupId, pattern: /^sg-[0-9a-f]{8,17}$/, expected: 'a security group id (sg-…)' },
  targetGroupArn: {
    stack: STACK_NAMES.cluster,
    output: OUTPUT_KEYS.targetGroupArn,
    pattern: /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:targetgroup\/[\w-]{1,32}\/[0-9a-f]{16}$/,
    expected: 'a target group ARN',
  },
  albSubnetsCidr: { stack: STACK_NAMES.cluster, output: OUTPUT_KEYS.albSubnetsCidr, pattern: CIDR_PATTERN, expected: 'an IPv4 CIDR' },
  vpcCidr: { stack: STACK_NAMES.cluster, output: OUTPUT_KEYS.vpcCidr, pattern: CIDR_PATTERN, expected: 'an IPv4 CIDR' },
  nodeSyncBundleUrl: { stack: STACK_NAMES.cluster, output: OUTPUT_KEYS.nodeSyncBundleUrl, pattern: /^s3:\/\/[a-z0-9][a-z0-9.-]+[a-z0-9]\/[\w./-]+\.zip$/, expected: 'an s3://bucket/key.zip URL' },
  modelsBucketName: { stack: STACK_NAMES.modelsSync, output: OUTPUT_KEYS.modelsBucketName, pattern: BUCKET, expected: 'an S3 bucket name' },
  outputsBucketName: { stack: STACK_NAMES.outputsStorage, output: OUTPUT_KEYS.outputsBucketName, pattern: BUCKET, expected: 'an S3 bucket name' },
  ecrRepositoryUri: {
    stack: STACK_NAMES.ecrRepo,
    output: OUTPUT_KEYS.ecrRepositoryUri,
    pattern: /^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\/[a-z0-9._/-]+$/,
    expected: 'an ECR repository URI',
  },
};

const JOBS_OFF = 'or set the config key jobs to false (no jobs API, no job runner)';

/** Read only when config `jobs` is on: without it there is no jobs stack and no job runner to configure. */
export const JOBS_STACK_VALUE_SOURCES: Record<keyof JobsStackValues, Source> = {
  jobsQueueUrl: {
    stack: STACK_NAMES.jobs,
    output: OUTPUT_KEYS.jobsQueueUrl,
    pattern: /^https:\/\/sqs\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\/\d{12}\/[\w-]{1,80}(\.fifo)?$/,
    expected: 'an SQS queue URL',
    otherwise: JOBS_OFF,
  },
  // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html
  jobsTableName: {
    stack: STACK_NAMES.jobs,
    output: OUTPUT_KEYS.jobsTableName,
    pattern: /^[\w.-]{3,255}$/,
    expected: 'a DynamoDB table name',
    otherwise: JOBS_OFF,
  },
};

export class MissingValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MissingValueError';
  }
}

/**
 * Reads the values from a `cdk deploy --all --outputs-file` JSON document. A missing or malformed value
 * fails naming `<stack>.<output>` and how to get it.
 */
export function stackValuesFromOutputs(outputs: unknown, fileName: string): StackValues {
  return valuesFromOutputs<StackValues>(outputs, fileName, STACK_VALUE_SOURCES);
}

/** The jobs stack's values, read like stackValuesFromOutputs; call it only when config `jobs` is on. */
export function jobsStackValuesFromOutputs(outputs: unknown, fileName: string): JobsStackValues {
  return valuesFromOutputs<JobsStackValues>(outputs, fileName, JOBS_STACK_VALUE_SOURCES);
}

function valuesFromOutputs<T extends object>(outputs: unknown, fileName: string, sources: Record<keyof T, Source>): T {
  if (typeof outputs !== 'object' || outputs === null || Array.isArray(outputs)) {
    throw new MissingValueError(`${fileName}: expected the JSON object that 'cdk deploy --outputs-file' writes`);
  }
  const byStack = outputs as Record<string, Record<string, unknown> | undefined>;
  const values: Partial<Record<keyof T, string>> = {};
  for (const [key, source] of Object.entries(sources) as [keyof T, Source][]) {
    const value = byStack[source.stack]?.[source.output];
    const where = `${source.stack}.${source.output}`;
    if (value === undefined || value === '') {
      throw new MissingValueError(
        `${fileName}: ${where} is missing; deploy that stack with 'npx cdk deploy --all --outputs-file ${fileName}'` +
          (source.otherwise ? `, ${source.otherwise}` : ''),
      );
    }
    if (typeof value !== 'string' || !source.pattern.test(value)) {
      throw new MissingValueError(`${fileName}: ${where} must be ${source.expected}, got ${JSON.stringify(value)}`);
    }
    values[key] = value;
  }
  return values as T;
}

/**
 * Example values built from the app config, shaped like real outputs, for tests and for reading.
 * Identifiers CloudFormation generates (role name, security group, target group) are made up.
 */
export function exampleStackValues(config: AppConfig): StackValues {
  const { account, region } = config;
  return {
    clusterName: config.clusterName,
    region,
    karpenterNodeRoleName: 'Comfyui-Cluster-karpenternoderoleEXAMPLE-0123ABCD',
    clusterSecurityGroupId: 'sg-0123456789abcdef0',
    targetGroupArn: `arn:aws:elasticloadbalancing:${region}:${account}:targetgroup/Comfyu-Comfy-EXAMPLE/0123456789abcdef`,
    albSubnetsCidr: albSubnetsCidr(config.vpcCidr),
    vpcCidr: config.vpcCidr,
    nodeSyncBundleUrl: `s3://cdk-hnb659fds-assets-${account}-${region}/${'0'.repeat(64)}.zip`,
    modelsBucketName: config.modelsBucketName,
    outputsBucketName: config.outputsBucketName,
    ecrRepositoryUri: `${account}.dkr.ecr.${region}.amazonaws.com/${ECR_REPOSITORY_NAME}`,
  };
}

/** Example jobs stack values, shaped like real outputs (the queue has a fixed name; CloudFormation makes up the table's). */
export function exampleJobsStackValues(config: AppConfig): JobsStackValues {
  return {
    jobsQueueUrl: `https://sqs.${config.region}.amazonaws.com/${config.account}/${jobsQueueName(config.clusterName)}`,
    jobsTableName: `${STACK_NAMES.jobs}-JobsTableEXAMPLE-0123ABCD`,
  };
}
