import { AppConfig } from '../config';
import {
  COMFYUI_IMAGE_MODELS_DIR,
  COMFYUI_NAMESPACE,
  COMFYUI_PORT,
  COMFYUI_UID,
  GPU_NODE_POOLS,
  GPU_TAINT_KEY,
  JOB_RUNNER_TAG_PREFIX,
  KARPENTER_DISCOVERY_TAG,
  KUBERNETES_API_SERVICE_IP,
  MODEL_GATE_TAG_PREFIX,
  MODELS_READY_TAINT_KEY,
  NODE_INSTANCE_STORE_MOUNT,
  NODE_MODEL_CACHE_DIR,
  NODE_MODEL_SYNC_STATE_DIR,
  PROCESS_MODE_TAG_PREFIX,
  SYSTEM_NODE_LABEL,
} from '../names';
import { GPU_NODE_AMI_ALIAS } from '../versions';
import { TemplateValues } from './fill-template';
import { jobRunnerValues } from './job-runner-values';
import { multiGpuValues } from './multi-gpu-values';
import { gpuNodeUserData } from './node-user-data';
import { scalingValues } from './scaling-values';
import { JobsStackValues, StackValues } from './stack-values';

/** Seconds the preStop drain leaves before the kubelet's SIGTERM, for the sidecar's final pass. */
const SHUTDOWN_MARGIN_SECONDS = 60;
/**
 * Seconds of that margin the output shipper's final pass may spend copying. The sidecar gets SIGTERM only after
 * ComfyUI has exited, so the rest covers ComfyUI's exit and the last close; the shipper starts no copy it cannot
 * finish in time and aborts one still running at the end, because a copy cut by SIGKILL is published truncated.
 */
const SHIPPER_FINAL_PASS_SECONDS = SHUTDOWN_MARGIN_SECONDS - 10;
/**
 * Where the EKS Pod Identity agent serves pod credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI), on every node:
 * https://docs.aws.amazon.com/eks/latest/userguide/pod-id-how-it-works.html
 */
export const POD_IDENTITY_AGENT_ADDRESS = '169.254.170.23';

/**
 * Every `{{ name }}` the manifests use: stack outputs, config, and the app's shared names. `jobs` (the jobs stack's
 * outputs) is needed when config `jobs` is on; otherwise the job runner is left out (manifestsLeftOut), and so are
 * the scaling objects, which need it (scalingManifestsLeftOut).
 */
export function manifestValues(stack: StackValues, config: AppConfig, imageTag: string, jobs?: JobsStackValues): TemplateValues {
  // ECR tags hold 128 characters; the model gate's, the job runner's and the process-mode image's tags add their prefix.
  const maxLength = 128 - Math.max(...[MODEL_GATE_TAG_PREFIX, JOB_RUNNER_TAG_PREFIX, PROCESS_MODE_TAG_PREFIX].map((p) => p.length));
  if (!new RegExp(`^[\\w][\\w.-]{0,${maxLength - 1}}$`).test(imageTag) || imageTag === 'latest') {
    throw new Error(`image tag must be an immutable ECR tag such as 0.1.0 (not 'latest'), got '${imageTag}'`);
  }
  if (config.jobs && !jobs) {
    throw new Error('config `jobs` is on but the jobs stack values are missing: deploy the jobs stack, or set jobs=false');
  }
  const [singleGpuNodePool, multiGpuNodePool] = GPU_NODE_POOLS;
  const graceSeconds = config.promptGracePeriodSeconds;
  return {
    ...stack,
    ...(config.jobs && jobs ? jobRunnerValues(stack, jobs, config, imageTag) : {}),
    ...scalingValues(stack, config, jobs),
    ...multiGpuValues(stack, config, imageTag),
    comfyuiImage: `${stack.ecrRepositoryUri}:${imageTag}`,
    modelGateImage: `${stack.ecrRepositoryUri}:${MODEL_GATE_TAG_PREFIX}${imageTag}`,
    gpuNodeUserData: gpuNodeUserData(stack),
    namespace: COMFYUI_NAMESPACE,
    comfyuiPort: COMFYUI_PORT,
    comfyuiUid: COMFYUI_UID,
    comfyuiModelsDir: COMFYUI_IMAGE_MODELS_DIR,
    singleGpuNodePool,
    multiGpuNodePool,
    discoveryTag: KARPENTER_DISCOVERY_TAG,
    gpuTaintKey: GPU_TAINT_KEY,
    modelsTaintKey: MODELS_READY_TAINT_KEY,
    instanceStoreMount: NODE_INSTANCE_STORE_MOUNT,
    modelCacheDir: NODE_MODEL_CACHE_DIR,
    modelSyncStateDir: NODE_MODEL_SYNC_STATE_DIR,
    kubernetesApiServiceIp: KUBERNETES_API_SERVICE_IP,
    podIdentityAgentAddress: POD_IDENTITY_AGENT_ADDRESS,
    systemNodeLabelKey: SYSTEM_NODE_LABEL.key,
    systemNodeLabelValue: SYSTEM_NODE_LABEL.value,
    amiAlias: GPU_NODE_AMI_ALIAS,
    gpuInstanceFamilies: config.gpuInstanceFamilies,
    capacityTypes: config.capacityTypes,
    maxGpus: config.maxGpus,
    gpuNodeConsolidateAfter: config.gpuNodeConsolidateAfter,
    gpuNodeExpireAfter: config.gpuNodeExpireAfter,
    // The pods count browser sessions in this window (comfyui_ws_sessions_recent), the runner reads it: one value.
    sessionActivitySeconds: config.sessionActivityMinutes * 60,
    podTerminationGraceSeconds: graceSeconds,
    drainTimeoutSeconds: graceSeconds - SHUTDOWN_MARGIN_SECONDS,
    outputShipperFinalPassSeconds: SHIPPER_FINAL_PASS_SECONDS,
    // Karpenter stops waiting for pods after this; it must outlast the pods' own grace period.
    gpuNodeTerminationGracePeriod: `${Math.ceil(graceSeconds / 60) + 15}m`,
  };
}
