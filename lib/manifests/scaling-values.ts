import { AppConfig } from '../config';
import { COMFYUI_NAMESPACE, JOB_RUNNER_SERVICE_NAME, jobsQueueName, KEDA_NAMESPACE, KEDA_OPERATOR_NAME, wakeQueueName } from '../names';
import { scaledObjectSpec, ScaledObjectSpec } from '../scaling/scaled-object-spec';
import { TemplateValues } from './fill-template';
import { JOB_RUNNER_HEALTH_PORT, JOB_RUNNER_SCALING } from './job-runner-values';
import { JobsStackValues, StackValues } from './stack-values';

/** What GET /scaling is read at: the runner's Service, by its cluster DNS name (KEDA runs in another namespace). */
export function jobRunnerScalingUrl(namespace = COMFYUI_NAMESPACE): string {
  return `http://${JOB_RUNNER_SERVICE_NAME}.${namespace}.svc.cluster.local:${JOB_RUNNER_HEALTH_PORT}${JOB_RUNNER_SCALING.path}`;
}

/**
 * A queue's URL beside another of the same account and region: SQS URLs are `https://sqs.<region>.<domain>/<account>/
 * <name>`. The wake queue's URL is built so from the jobs queue's, the output that already names the account.
 */
export function queueUrlBeside(queueUrl: string, queueName: string): string {
  const url = new URL(queueUrl);
  const [, account] = url.pathname.split('/');
  return `${url.origin}/${account}/${queueName}`;
}

/**
 * The `{{ name }}` values of the Deployment's replica field and, with config `autoscaling`, of the ScaledObject and
 * the runner's Service (docs/scaling.md). G = GPUs per pod: 1 in the base (single-GPU), gpusPerMultiGpuNode in the
 * multi-GPU overlay's patch.
 */
export function scalingValues(stack: StackValues, config: AppConfig, jobs?: JobsStackValues): TemplateValues {
  if (!config.autoscaling) return { comfyuiReplicasField: `replicas: ${config.comfyuiReplicas}` };
  if (!jobs) throw new Error('config `autoscaling` is on but the jobs stack values are missing: deploy the jobs stack, or set autoscaling=false');
  const expectedQueue = jobsQueueName(stack.clusterName);
  if (!jobs.jobsQueueUrl.endsWith(`/${expectedQueue}`)) {
    throw new Error(
      `the jobs queue ${jobs.jobsQueueUrl} is not named ${expectedQueue}, the name KEDA's role may read: ` +
        'deploy the jobs stack again (npx cdk deploy --all) so the queue gets its fixed name',
    );
  }
  const single = scaledObjectSpec(config, 1);
  const multi = scaledObjectSpec(config, config.gpusPerMultiGpuNode);
  return {
    comfyuiReplicasField: '',
    ...scaledObjectValues(single),
    multiGpuPromptsPerPod: multi.triggers.jobs.target,
    wakeQueueUrl: queueUrlBeside(jobs.jobsQueueUrl, wakeQueueName(stack.clusterName)),
    jobRunnerScalingUrl: jobRunnerScalingUrl(),
    jobRunnerScalingValueLocation: JOB_RUNNER_SCALING.valueLocation,
    jobRunnerServiceName: JOB_RUNNER_SERVICE_NAME,
    kedaNamespace: KEDA_NAMESPACE,
    kedaOperatorName: KEDA_OPERATOR_NAME,
  };
}

function scaledObjectValues(spec: ScaledObjectSpec): TemplateValues {
  const [scaleUp] = spec.hpa.scaleUp.policies;
  const [scaleDown] = spec.hpa.scaleDown.policies;
  if (spec.triggers.interactive.target !== spec.triggers.jobs.target) {
    throw new Error('the jobs and interactive triggers share one per-pod target in comfyui-scaledobject.yaml');
  }
  return {
    scalingPollingSeconds: spec.pollingIntervalSeconds,
    scaleToZeroSeconds: spec.keda.cooldownPeriod,
    maxComfyuiReplicas: spec.keda.maxReplicaCount,
    fallbackFailureThreshold: spec.keda.fallback!.failureThreshold,
    fallbackReplicas: spec.keda.fallback!.replicas,
    fallbackBehavior: spec.keda.fallback!.behavior,
    scaleUpPods: scaleUp.value,
    scaleUpPeriodSeconds: scaleUp.periodSeconds,
    scaleDownStabilizationSeconds: spec.hpa.scaleDown.stabilizationWindowSeconds,
    scaleDownPods: scaleDown.value,
    scaleDownPeriodSeconds: scaleDown.periodSeconds,
    promptsPerPod: spec.triggers.jobs.target,
    jobsActivation: spec.triggers.jobs.activation,
    wakeQueueTarget: spec.triggers.wake.target,
    wakeActivation: spec.triggers.wake.activation,
    interactiveActivation: spec.triggers.interactive.activation,
    warmTrigger: spec.warm ? warmTrigger(spec.warm) : '',
  };
}

/** The cron trigger as a YAML list item (JSON strings are YAML strings), or nothing without a warm schedule. */
function warmTrigger(warm: NonNullable<ScaledObjectSpec['warm']>): string {
  return [
    '# The warm schedule: this many pods between start and end, in its time zone, whatever the demand.',
    '- type: cron',
    '  name: warm',
    '  metadata:',
    `    timezone: ${JSON.stringify(warm.timezone)}`,
    `    start: ${JSON.stringify(warm.start)}`,
    `    end: ${JSON.stringify(warm.end)}`,
    `    desiredReplicas: ${JSON.stringify(String(warm.desiredReplicas))}`,
    '',
  ].join('\n');
}
