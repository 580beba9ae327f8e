import { cidrsOverlap } from './alb-subnets';
import { firewallDomainProblem } from './dns-allow-list';
import { USERNAME_PATTERN } from './edge/credentials';
import { DEFAULT_CLUSTER_NAME, defaultModelsBucketName, defaultOutputsBucketName, KUBERNETES_SERVICE_CIDR } from './names';
import {
  ConfigError,
  parseAdminPrincipalArn,
  parseBoolean,
  parseBucketName,
  parseCidr,
  parseEnum,
  parseEnumList,
  parseInteger,
  parseList,
  parseString,
} from './config-values';
import { parseScalingKeys, SCALING_KEYS, ScalingConfig, validateScalingCombinations } from './config-scaling';
import { DEFAULT_KUBERNETES_VERSION, KubernetesVersionString, SUPPORTED_KUBERNETES_VERSIONS } from './versions';

export { ConfigError } from './config-values';

/** NVIDIA GPU instance families with NVMe instance store, x86_64, supported by the EKS AL2023 NVIDIA AMI. */
export const GPU_INSTANCE_FAMILIES = ['g4dn', 'g5', 'g6', 'g6e', 'gr6', 'p4d', 'p5'] as const;
export type GpuInstanceFamily = (typeof GPU_INSTANCE_FAMILIES)[number];

export const CAPACITY_TYPES = ['spot', 'on-demand'] as const;
export type CapacityType = (typeof CAPACITY_TYPES)[number];

/**
 * Who may reach the ALB besides CloudFront:
 * - `cloudfront-only`: nobody; the only way in is the CloudFront distribution.
 * - `vpc`: also clients inside the VPC (a bastion, a VPN into the VPC).
 * - `cidrs`: also the CIDRs in `albAllowedCidrs` (routed into the VPC by peering, VPN or Direct Connect).
 */
export const ALB_EXPOSURES = ['cloudfront-only', 'vpc', 'cidrs'] as const;
export type AlbExposure = (typeof ALB_EXPOSURES)[number];

/**
 * What the VPC's Route 53 Resolver DNS Firewall does with names off the allow list (lib/dns-allow-list.ts):
 * `block` answers NXDOMAIN, `alert` only logs them (to find what a custom setup needs before blocking), `off`
 * has no DNS firewall.
 */
export const DNS_FIREWALL_MODES = ['block', 'alert', 'off'] as const;
export type DnsFirewallMode = (typeof DNS_FIREWALL_MODES)[number];

/**
 * How the multi-GPU pod runs ComfyUI (docs/process-mode-design.md): `thread`, one ComfyUI process driving every
 * GPU that our adapter patches (ComfyUI v0.8.0), or `process`, one stock, unpatched ComfyUI per GPU behind our front
 * (ComfyUI v0.33.0, the image tagged PROCESS_MODE_TAG_PREFIX + tag in lib/names.ts).
 */
export const MULTI_GPU_EXECUTORS = ['thread', 'process'] as const;
export type MultiGpuExecutor = (typeof MULTI_GPU_EXECUTORS)[number];

/** What `cdk destroy` does with buckets and the ECR repository. */
export const DATA_REMOVAL_POLICIES = ['retain', 'destroy'] as const;
export type DataRemovalPolicy = (typeof DATA_REMOVAL_POLICIES)[number];

/** The one typed configuration of the app; built once in `bin/app.ts` and passed down as props. */
export interface AppConfig extends ScalingConfig {
  /** AWS account. @default CDK_DEFAULT_ACCOUNT, else the placeholder 123456789012 (synth only). */
  readonly account: string;
  /** AWS region. @default us-west-2 */
  readonly region: string;
  /** EKS cluster name. @default comfyui */
  readonly clusterName: string;
  /** Kubernetes version of the cluster. @default 1.35 */
  readonly kubernetesVersion: KubernetesVersionString;
  /** IAM principal mapped as cluster admin; without it nobody but CloudFormation administers the cluster. */
  readonly clusterAdminArn?: string;
  /**
   * Public CIDRs that may reach the Kubernetes API endpoint from outside the VPC, e.g. your IP as
   * `$(curl -s https://checkip.amazonaws.com)/32`; IAM authentication is required either way. None keeps the
   * endpoint private: kubectl then works only from inside the VPC, and synth warns. @default [] (private)
   */
  readonly clusterEndpointPublicCidrs: string[];
  /** VPC CIDR. @default 10.0.0.0/16 */
  readonly vpcCidr: string;
  /** Availability zones used. @default 2 */
  readonly maxAzs: number;
  /** NAT gateways: 1 is cheapest, one per AZ survives an AZ outage. @default 1 */
  readonly natGateways: number;
  /** Instance type of the small managed CPU node group for system pods. @default m7i.large */
  readonly systemNodeInstanceType: string;
  /** Size of the system node group. @default 2 */
  readonly systemNodeCount: number;
  /** GPU instance families Karpenter may launch. @default ['g5', 'g4dn'] */
  readonly gpuInstanceFamilies: GpuInstanceFamily[];
  /** Capacity types for GPU nodes; spot is preferred when both are allowed. @default ['spot', 'on-demand'] */
  readonly capacityTypes: CapacityType[];
  /** Models bucket. @default comfyui-models-{account}-{region} */
  readonly modelsBucketName: string;
  /** Outputs bucket. @default comfyui-outputs-{account}-{region} */
  readonly outputsBucketName: string;
  /** Put CloudFront in front of the ALB. @default true */
  readonly cloudFront: boolean;
  /** Who may reach the ALB besides CloudFront. @default cloudfront-only */
  readonly albExposure: AlbExposure;
  /** CIDRs allowed to reach the ALB when albExposure is `cidrs`. @default [] */
  readonly albAllowedCidrs: string[];
  /** ALB idle timeout: ComfyUI's WebSocket may sit silent while a long prompt runs. @default 900 */
  readonly albIdleTimeoutSeconds: number;
  /** Keep (`retain`) or delete (`destroy`) buckets and the ECR repository on `cdk destroy`. @default retain */
  readonly dataRemovalPolicy: DataRemovalPolicy;
  /**
   * Use the models bucket, the outputs bucket and the ECR repository that an earlier `cdk destroy` retained
   * (dataRemovalPolicy `retain`), by name, instead of creating them: a redeploy would otherwise fail with
   * "already exists". They keep their objects, images and settings; CloudFormation no longer owns them.
   * Set it in cdk.json's `comfyui` object so every later deploy keeps it. @default false
   */
  readonly adoptRetainedData: boolean;
  /**
   * The VPC's DNS firewall: names off the allow list get NXDOMAIN (`block`), are only logged (`alert`), or
   * there is no firewall (`off`). It closes DNS as a way out of a ComfyUI pod. @default block
   */
  readonly dnsFirewall: DnsFirewallMode;
  /**
   * Names the DNS firewall allows beside its own list, e.g. a private registry or a model host your nodes
   * use: `registry.example.com`, or `*.example.com` for its subdomains. @default []
   */
  readonly dnsAllowedDomains: string[];
  /** Write S3 server access logs of the buckets to a log bucket. @default true */
  readonly bucketAccessLogs: boolean;
  /**
   * ComfyUI pods (one per GPU node) when autoscaling is false; 0 stops every GPU node after gpuNodeConsolidateAfter.
   * @default 1
   */
  readonly comfyuiReplicas: number;
  /** Most GPUs each Karpenter GPU node pool may run at once (a cost ceiling). @default 8 */
  readonly maxGpus: number;
  /** GPUs per node of the multi-GPU pool; its pod uses them all (4: g5.12xlarge, 8: g5.48xlarge). @default 4 */
  readonly gpusPerMultiGpuNode: 4 | 8;
  /**
   * How the multi-GPU pod runs ComfyUI: `thread` (one patched process for every GPU, ComfyUI v0.8.0) or `process`
   * (one stock ComfyUI v0.33.0 per GPU behind our front; its image is built by build_and_push.sh as
   * process-TAG, and the pod asks for more memory). The single-GPU overlay ignores it. @default thread
   */
  readonly multiGpuExecutor: MultiGpuExecutor;
  /** How long an empty GPU node lives before Karpenter removes it (Karpenter duration). @default 10m */
  readonly gpuNodeConsolidateAfter: string;
  /** Maximum life of a GPU node before Karpenter replaces it (Karpenter duration). @default 720h */
  readonly gpuNodeExpireAfter: string;
  /** Seconds a stopping ComfyUI pod may spend finishing its running and queued prompts. @default 1800 */
  readonly promptGracePeriodSeconds: number;
  /**
   * The operations dashboard and alarms (`ComfyuiOperations`, and `ComfyuiOperationsEdge` in us-east-1 for
   * CloudFront's). @default true
   */
  readonly operations: boolean;
  /** Email address that receives the alarms (SNS asks it to confirm once). @default none: the topic has no subscriber */
  readonly alarmEmail?: string;
  /** GPU node-hours per 24 hours above which the budget alarm fires (24: one GPU node all day). @default 24 */
  readonly gpuNodeHoursDailyBudget: number;
  /** Minutes the oldest job message may wait (or run) before the job-age alarm fires. @default 60 */
  readonly jobAgeAlarmMinutes: number;
  /**
   * CloudFront's additional metrics (origin latency, cache hit rate, per-status error rates) for the distribution:
   * a monitoring subscription, billed as 8 custom metrics. @default false
   */
  readonly cloudFrontAdditionalMetrics: boolean;
  /**
   * Authenticate every CloudFront request against the users `comfyctl users` manages. Turning it off
   * publishes ComfyUI to the internet and needs `edgeAuthOffAcknowledged: true`. @default true
   */
  readonly edgeAuth: boolean;
  /** The explicit "yes, anyone may use ComfyUI" that `edgeAuth: false` needs. @default false */
  readonly edgeAuthOffAcknowledged: boolean;
  /** Put an AWS WAF web ACL (per-IP rate limit + AWS Common Rule Set) in front of CloudFront; it costs money. @default false */
  readonly waf: boolean;
  /** Requests one IP may send in 5 minutes before WAF blocks it; a studio behind one NAT shares it. @default 3000 */
  readonly wafRateLimitPer5Minutes: number;
  /**
   * Jobs and templates (docs/jobs.md): the `ComfyuiJobs` stack and the `/render-api/` behaviour. Needs cloudFront
   * and edgeAuth: the API trusts only the user the edge function verified. @default true
   */
  readonly jobs: boolean;
  /** Edge user names who see and cancel every user's jobs. @default [] */
  readonly jobsAdmins: string[];
  /** Days a job's record is kept (its DynamoDB TTL, `expires_at`); its outputs stay in S3. @default 30 */
  readonly jobsRetentionDays: number;
  /** Job runner pods (the Deployment on the system nodes); 0 stops taking jobs. @default 1 */
  readonly jobRunnerReplicas: number;
}

/** Reads one context value; `undefined` when the key is not set. */
export type ContextReader = (key: string) => unknown;

/**
 * A security group holds 60 inbound rules by default
 * (https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html#vpc-limits-security-groups); one
 * is CloudFront's VPC-origin service group when CloudFront is on, each allow-listed CIDR takes one more.
 */
const MAX_ALB_INBOUND_RULES = 60;

const PLACEHOLDER_ACCOUNT = '123456789012';
const DEFAULT_REGION = 'us-west-2';

/** Every key the config accepts; any other key under `comfyui` is a typo and fails. */
const KNOWN_KEYS = [
  'account', 'region', 'clusterName', 'kubernetesVersion', 'clusterAdminArn', 'clusterEndpointPublicCidrs',
  'vpcCidr', 'maxAzs', 'natGateways', 'systemNodeInstanceType', 'systemNodeCount', 'gpuInstanceFamilies',
  'capacityTypes', 'modelsBucketName', 'outputsBucketName', 'cloudFront', 'albExposure', 'albAllowedCidrs',
  'albIdleTimeoutSeconds', 'dataRemovalPolicy', 'adoptRetainedData', 'dnsFirewall', 'dnsAllowedDomains',
  'bucketAccessLogs', 'comfyuiReplicas', 'maxGpus',
  'operations', 'alarmEmail', 'gpuNodeHoursDailyBudget', 'jobAgeAlarmMinutes', 'cloudFrontAdditionalMetrics',
  'gpusPerMultiGpuNode', 'multiGpuExecutor', 'gpuNodeConsolidateAfter', 'gpuNodeExpireAfter', 'promptGracePeriodSeconds',
  'edgeAuth', 'edgeAuthOffAcknowledged', 'waf', 'wafRateLimitPer5Minutes',
  'jobs', 'jobsAdmins', 'jobsRetentionDays', 'jobRunnerReplicas',
  ...SCALING_KEYS,
] as const;

/**
 * Bounds of a WAF rate-based rule's limit (https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-high-level-settings.html);
 * the floor is raised to 100 so a typo cannot lock a studio out.
 */
const WAF_RATE_LIMIT_RANGE = [100, 2_000_000_000] as const;

/**
 * Builds the AppConfig from defaults, the `comfyui` object in cdk.json context, and `-c key=value`
 * overrides (which win). Throws a ConfigError naming the first bad key.
 */
export function loadConfig(context: ContextReader, env: NodeJS.ProcessEnv = {}): AppConfig {
  const file = context('comfyui') ?? {};
  if (typeof file !== 'object' || Array.isArray(file) || file === null) {
    throw new ConfigError('comfyui', 'the cdk.json context entry must be an object of config keys');
  }
  const fileValues = file as Record<string, unknown>;
  for (const key of Object.keys(fileValues)) {
    if (!(KNOWN_KEYS as readonly string[]).includes(key)) {
      throw new ConfigError(key, `unknown key; known keys: ${KNOWN_KEYS.join(', ')}`);
    }
  }
  const get = (key: (typeof KNOWN_KEYS)[number]): unknown => context(key) ?? fileValues[key];

  const account = parseAccount(get('account') ?? env.CDK_DEFAULT_ACCOUNT ?? PLACEHOLDER_ACCOUNT);
  const region = parseRegion(get('region') ?? DEFAULT_REGION);
  const albExposure = parseEnum('albExposure', get('albExposure') ?? 'cloudfront-only', ALB_EXPOSURES);
  const albAllowedCidrs = parseList('albAllowedCidrs', get('albAllowedCidrs') ?? []).map((c) =>
    parseCidr('albAllowedCidrs', c),
  );
  const cloudFront = parseBoolean('cloudFront', get('cloudFront') ?? true);
  const adminArn = get('clusterAdminArn');
  const jobs = parseBoolean('jobs', get('jobs') ?? true);

  const config: AppConfig = {
    account,
    region,
    clusterName: parseClusterName(get('clusterName') ?? DEFAULT_CLUSTER_NAME),
    kubernetesVersion: parseEnum(
      'kubernetesVersion',
      String(get('kubernetesVersion') ?? DEFAULT_KUBERNETES_VERSION),
      SUPPORTED_KUBERNETES_VERSIONS,
    ),
    clusterAdminArn: adminArn === undefined || adminArn === '' ? undefined : parseAdminPrincipalArn('clusterAdminArn', adminArn),
    clusterEndpointPublicCidrs: parseList('clusterEndpointPublicCidrs', get('clusterEndpointPublicCidrs') ?? [])
      .map((c) => parseCidr('clusterEndpointPublicCidrs', c)),
    vpcCidr: parseCidr('vpcCidr', parseString('vpcCidr', get('vpcCidr') ?? '10.0.0.0/16')),
    maxAzs: parseInteger('maxAzs', get('maxAzs') ?? 2, 2, 3),
    natGateways: parseInteger('natGateways', get('natGateways') ?? 1, 1, 3),
    systemNodeInstanceType: parseInstanceType(get('systemNodeInstanceType') ?? 'm7i.large'),
    systemNodeCount: parseInteger('systemNodeCount', get('systemNodeCount') ?? 2, 1, 10),
    gpuInstanceFamilies: parseEnumList('gpuInstanceFamilies', get('gpuInstanceFamilies') ?? ['g5', 'g4dn'], GPU_INSTANCE_FAMILIES),
    capacityTypes: parseEnumList('capacityTypes', get('capacityTypes') ?? ['spot', 'on-demand'], CAPACITY_TYPES),
    modelsBucketName: parseBucketName('modelsBucketName', get('modelsBucketName') ?? defaultModelsBucketName(account, region)),
    outputsBucketName: parseBucketName('outputsBucketName', get('outputsBucketName') ?? defaultOutputsBucketName(account, region)),
    cloudFront,
    albExposure,
    albAllowedCidrs,
    albIdleTimeoutSeconds: parseInteger('albIdleTimeoutSeconds', get('albIdleTimeoutSeconds') ?? 900, 600, 4000),
    dataRemovalPolicy: parseEnum('dataRemovalPolicy', get('dataRemovalPolicy') ?? 'retain', DATA_REMOVAL_POLICIES),
    adoptRetainedData: parseBoolean('adoptRetainedData', get('adoptRetainedData') ?? false),
    dnsFirewall: parseEnum('dnsFirewall', get('dnsFirewall') ?? 'block', DNS_FIREWALL_MODES),
    dnsAllowedDomains: parseList('dnsAllowedDomains', get('dnsAllowedDomains') ?? []).map(parseAllowedDomain),
    bucketAccessLogs: parseBoolean('bucketAccessLogs', get('bucketAccessLogs') ?? true),
    comfyuiReplicas: parseInteger('comfyuiReplicas', get('comfyuiReplicas') ?? 1, 0, 50),
    maxGpus: parseInteger('maxGpus', get('maxGpus') ?? 8, 1, 1000),
    gpusPerMultiGpuNode: parseGpusPerMultiGpuNode(get('gpusPerMultiGpuNode') ?? 4),
    multiGpuExecutor: parseEnum('multiGpuExecutor', get('multiGpuExecutor') ?? 'thread', MULTI_GPU_EXECUTORS),
    gpuNodeConsolidateAfter: parseDuration('gpuNodeConsolidateAfter', get('gpuNodeConsolidateAfter') ?? '10m'),
    gpuNodeExpireAfter: parseDuration('gpuNodeExpireAfter', get('gpuNodeExpireAfter') ?? '720h'),
    promptGracePeriodSeconds: parseInteger('promptGracePeriodSeconds', get('promptGracePeriodSeconds') ?? 1800, 120, 7200),
    ...parseOperationsKeys(get),
    edgeAuth: parseBoolean('edgeAuth', get('edgeAuth') ?? true),
    edgeAuthOffAcknowledged: parseBoolean('edgeAuthOffAcknowledged', get('edgeAuthOffAcknowledged') ?? false),
    waf: parseBoolean('waf', get('waf') ?? false),
    wafRateLimitPer5Minutes: parseInteger('wafRateLimitPer5Minutes', get('wafRateLimitPer5Minutes') ?? 3000, ...WAF_RATE_LIMIT_RANGE),
    jobs,
    jobsAdmins: parseList('jobsAdmins', get('jobsAdmins') ?? []).map(parseJobsAdmin),
    jobsRetentionDays: parseInteger('jobsRetentionDays', get('jobsRetentionDays') ?? 30, ...JOBS_RETENTION_DAYS_RANGE),
    jobRunnerReplicas: parseInteger('jobRunnerReplicas', get('jobRunnerReplicas') ?? 1, ...JOB_RUNNER_REPLICAS_RANGE),
    ...parseScalingKeys(get, jobs),
  };
  validateCombinations(config);
  validateOperationsCombinations(config, (key) => get(key) !== undefined);
  validateEdgeCombinations(config, get('wafRateLimitPer5Minutes') !== undefined);
  validateJobsCombinations(config);
  validateScalingCombinations(config, (key) => get(key) !== undefined);
  return config;
}

function validateCombinations(config: AppConfig): void {
  if (!config.cloudFront && config.albExposure === 'cloudfront-only') {
    throw new ConfigError(
      'albExposure',
      "'cloudfront-only' leaves no way in when cloudFront is false; set albExposure to vpc or cidrs",
    );
  }
  if (config.albExposure === 'cidrs' && config.albAllowedCidrs.length === 0) {
    throw new ConfigError('albAllowedCidrs', "albExposure 'cidrs' needs at least one CIDR, e.g. -c albAllowedCidrs=10.20.0.0/16");
  }
  const maxCidrs = MAX_ALB_INBOUND_RULES - (config.cloudFront ? 1 : 0);
  if (config.albAllowedCidrs.length > maxCidrs) {
    throw new ConfigError(
      'albAllowedCidrs',
      `at most ${maxCidrs} CIDRs fit in the ALB security group's ${MAX_ALB_INBOUND_RULES} inbound rules` +
        `${config.cloudFront ? ' beside CloudFront' : ''}, got ${config.albAllowedCidrs.length}`,
    );
  }
  if (config.adoptRetainedData && config.dataRemovalPolicy === 'destroy') {
    throw new ConfigError(
      'adoptRetainedData',
      'adopted buckets and repository are not owned by CloudFormation, so cdk destroy cannot delete them; ' +
        "keep dataRemovalPolicy 'retain' (the default) with adoptRetainedData",
    );
  }
  if (config.albExposure !== 'cidrs' && config.albAllowedCidrs.length > 0) {
    throw new ConfigError('albAllowedCidrs', `is only used when albExposure is 'cidrs' (albExposure is '${config.albExposure}')`);
  }
  if (config.dnsFirewall === 'off' && config.dnsAllowedDomains.length > 0) {
    throw new ConfigError('dnsAllowedDomains', "is only used when dnsFirewall is 'block' or 'alert' (dnsFirewall is 'off')");
  }
  if (config.modelsBucketName === config.outputsBucketName) {
    throw new ConfigError('outputsBucketName', 'must differ from modelsBucketName');
  }
  if (cidrsOverlap(config.vpcCidr, KUBERNETES_SERVICE_CIDR)) {
    throw new ConfigError('vpcCidr', `must not overlap the Kubernetes service CIDR ${KUBERNETES_SERVICE_CIDR}, got ${config.vpcCidr}`);
  }
  if (Number(config.vpcCidr.split('/')[1]) > 17) {
    throw new ConfigError('vpcCidr', `must be a /17 or larger (up to three /19 pod subnets plus the ALB and public subnets), got ${config.vpcCidr}`);
  }
  if (config.natGateways > config.maxAzs) {
    throw new ConfigError('natGateways', `must not exceed maxAzs (${config.maxAzs}), got ${config.natGateways}`);
  }
}

function validateEdgeCombinations(config: AppConfig, wafRateLimitGiven: boolean): void {
  if (config.cloudFront && !config.edgeAuth && !config.edgeAuthOffAcknowledged) {
    throw new ConfigError(
      'edgeAuth',
      'false lets anyone on the internet use ComfyUI (and your GPUs); if that is intended, also set edgeAuthOffAcknowledged=true',
    );
  }
  if (config.edgeAuthOffAcknowledged && config.edgeAuth) {
    throw new ConfigError('edgeAuthOffAcknowledged', 'is only used when edgeAuth is false (edgeAuth is true)');
  }
  if (config.waf && !config.cloudFront) {
    throw new ConfigError('waf', 'protects the CloudFront distribution; it needs cloudFront=true');
  }
  if (wafRateLimitGiven && !config.waf) {
    throw new ConfigError('wafRateLimitPer5Minutes', 'is only used when waf is true (waf is false)');
  }
}

/**
 * The jobs API trusts the x-comfyui-user header only because the edge function sets it on every request and the
 * function URL accepts only CloudFront's signed requests (docs/jobs.md, "Identity"): without CloudFront or edge
 * authentication there is no verified user.
 */
function validateJobsCombinations(config: AppConfig): void {
  if (config.jobs && (!config.cloudFront || !config.edgeAuth)) {
    const off = [!config.cloudFront && 'cloudFront', !config.edgeAuth && 'edgeAuth'].filter(Boolean).join(' and ');
    throw new ConfigError(
      'jobs',
      `needs cloudFront=true and edgeAuth=true (the jobs API knows its caller only from the edge authentication), but ${off} ` +
        `${off.includes(' and ') ? 'are' : 'is'} false; set jobs=false, or turn ${off} on`,
    );
  }
  if (!config.jobs && config.jobsAdmins.length > 0) {
    throw new ConfigError('jobsAdmins', 'is only used when jobs is true (jobs is false)');
  }
}

/**
 * Job records live from a day (a webhook's retries take 75 minutes) to ten years; the TTL deletes them for free
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html).
 */
const JOBS_RETENTION_DAYS_RANGE = [1, 3650] as const;

/**
 * One runner drives every GPU of the cluster (it only waits on HTTP); a second survives a system node's loss. More
 * would only race each other for the same idle GPUs: pickups are conditional updates, so they stay correct.
 */
const JOB_RUNNER_REPLICAS_RANGE = [0, 3] as const;

function parseJobsAdmin(user: string): string {
  if (!USERNAME_PATTERN.test(user)) {
    throw new ConfigError('jobsAdmins', `'${user}' is not an edge user name (comfyctl users: ${USERNAME_PATTERN.source})`);
  }
  return user;
}

function parseAllowedDomain(domain: string): string {
  const problem = firewallDomainProblem(domain);
  if (problem) throw new ConfigError('dnsAllowedDomains', `'${domain}' ${problem}`);
  if (domain === '*') throw new ConfigError('dnsAllowedDomains', "'*' would allow every name; set dnsFirewall to off instead");
  return domain;
}

function parseAccount(value: unknown): string {
  const account = String(value);
  if (!/^\d{12}$/.test(account)) throw new ConfigError('account', `expected a 12-digit AWS account id, got '${account}'`);
  return account;
}

/** An AWS region name, as config and stack outputs carry it. */
export const REGION_PATTERN = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;

function parseRegion(value: unknown): string {
  const region = parseString('region', value);
  if (!REGION_PATTERN.test(region)) {
    throw new ConfigError('region', `expected an AWS region such as us-west-2, got '${region}'`);
  }
  return region;
}

/** https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateCluster.html#API_CreateCluster_RequestSyntax */
export const CLUSTER_NAME_PATTERN = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;

function parseClusterName(value: unknown): string {
  const name = parseString('clusterName', value);
  if (!CLUSTER_NAME_PATTERN.test(name)) {
    throw new ConfigError('clusterName', `must be 1-100 letters, digits, '-' or '_', starting with a letter or digit, got '${name}'`);
  }
  return name;
}

function parseInstanceType(value: unknown): string {
  const type = parseString('systemNodeInstanceType', value);
  if (!/^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(type)) {
    throw new ConfigError('systemNodeInstanceType', `expected an EC2 instance type such as m7i.large, got '${type}'`);
  }
  return type;
}

function parseGpusPerMultiGpuNode(value: unknown): 4 | 8 {
  const n = parseInteger('gpusPerMultiGpuNode', value, 4, 8);
  if (n !== 4 && n !== 8) throw new ConfigError('gpusPerMultiGpuNode', `expected 4 or 8, got ${n}`);
  return n;
}

/** A Karpenter duration such as 30s, 10m or 720h (https://karpenter.sh/docs/concepts/nodepools/). */
function parseDuration(key: string, value: unknown): string {
  const text = parseString(key, value);
  if (!/^[1-9][0-9]*(s|m|h)$/.test(text)) {
    throw new ConfigError(key, `expected a duration such as 30s, 10m or 720h, got '${text}'`);
  }
  return text;
}

type OperationsKey = 'operations' | 'alarmEmail' | 'gpuNodeHoursDailyBudget' | 'jobAgeAlarmMinutes' | 'cloudFrontAdditionalMetrics';

/**
 * GPU node-hours a day: at least 1, at most 1000 nodes all day (far above maxGpus' ceiling, so a typo is caught);
 * job age: 5 minutes (a render's normal wait is shorter) to 14 days, the longest SQS keeps a message
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html).
 */
const GPU_NODE_HOURS_DAILY_BUDGET_RANGE = [1, 24_000] as const;
const JOB_AGE_ALARM_MINUTES_RANGE = [5, 20_160] as const;

/** An address SNS can deliver to: one @, no spaces, a dot in the domain. */
const EMAIL_PATTERN = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

function parseOperationsKeys(get: (key: OperationsKey) => unknown): Pick<AppConfig, OperationsKey> {
  const email = get('alarmEmail');
  return {
    operations: parseBoolean('operations', get('operations') ?? true),
    alarmEmail: email === undefined || email === '' ? undefined : parseEmail(email),
    gpuNodeHoursDailyBudget: parseInteger('gpuNodeHoursDailyBudget', get('gpuNodeHoursDailyBudget') ?? 24, ...GPU_NODE_HOURS_DAILY_BUDGET_RANGE),
    jobAgeAlarmMinutes: parseInteger('jobAgeAlarmMinutes', get('jobAgeAlarmMinutes') ?? 60, ...JOB_AGE_ALARM_MINUTES_RANGE),
    cloudFrontAdditionalMetrics: parseBoolean('cloudFrontAdditionalMetrics', get('cloudFrontAdditionalMetrics') ?? false),
  };
}

function parseEmail(value: unknown): string {
  const email = parseString('alarmEmail', value);
  if (!EMAIL_PATTERN.test(email)) throw new ConfigError('alarmEmail', `expected an email address such as ops@example.com, got '${email}'`);
  return email;
}

/** The alarm keys mean nothing without the operations stacks; origin latency needs a distribution. */
function validateOperationsCombinations(config: AppConfig, given: (key: OperationsKey) => boolean): void {
  if (!config.operations) {
    const unused = (['alarmEmail', 'gpuNodeHoursDailyBudget', 'jobAgeAlarmMinutes', 'cloudFrontAdditionalMetrics'] as const).find(given);
    if (unused) throw new ConfigError(unused, 'is only used when operations is true (operations is false)');
  }
  if (config.cloudFrontAdditionalMetrics && !config.cloudFront) {
    throw new ConfigError('cloudFrontAdditionalMetrics', 'are metrics of the CloudFront distribution; they need cloudFront=true');
  }
}
