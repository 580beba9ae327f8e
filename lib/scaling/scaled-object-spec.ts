/**
 * The ScaledObject of docs/scaling-design.md section 3 as numbers, from the typed config: one source for the
 * simulation here and for whatever renders the manifest. G = GPUs per ComfyUI pod.
 */
import type { ScalingConfig } from '../config-scaling';
import type { CronTriggerSpec } from './cron-window';
import type { HpaSpec } from './hpa-step';
import type { KedaScaledObject } from './keda-step';

export interface ScaledObjectSpec {
  readonly pollingIntervalSeconds: number;
  readonly keda: KedaScaledObject;
  readonly hpa: HpaSpec;
  /** AverageValue targets and activation thresholds of the three demand triggers. */
  readonly triggers: {
    readonly jobs: { readonly target: number; readonly activation: number };
    readonly wake: { readonly target: number; readonly activation: number };
    readonly interactive: { readonly target: number; readonly activation: number };
  };
  readonly warm?: CronTriggerSpec;
}

/**
 * After this many failed reads in a row a trigger stands for `FALLBACK_REPLICAS` pods, `static`: a job runner that
 * stays down keeps one pod (and wakes one from zero: KEDA 2.20 counts a fallback as active, scale_handler.go), but
 * never more. `currentReplicasIfHigher` would make the dead trigger stand for every running pod, so the HPA could
 * never scale in (test/lib/scaling-decide-keda.test.ts); queued jobs still scale up through the SQS trigger.
 */
export const FALLBACK_FAILURE_THRESHOLD = 4;
export const FALLBACK_REPLICAS = 1;
/** Scale-up: at most 4 pods per minute, unstabilized; scale-down: at most 1 pod per 5 minutes. */
export const SCALE_UP_PODS_PER_MINUTE = 4;
export const SCALE_DOWN_PODS = 1;
export const SCALE_DOWN_PERIOD_SECONDS = 300;
/** The wake queue's target: high enough that it never asks for more than the one pod its activation wakes. */
export const WAKE_QUEUE_TARGET = 100_000;

export function scaledObjectSpec(config: ScalingConfig, gpusPerPod: number): ScaledObjectSpec {
  const perPod = gpusPerPod * config.queuedPromptsPerGpu;
  return {
    pollingIntervalSeconds: config.scalingPollingSeconds,
    keda: {
      minReplicaCount: 0,
      maxReplicaCount: config.maxComfyuiReplicas,
      cooldownPeriod: config.scaleToZeroAfterMinutes * 60,
      initialCooldownPeriod: 0,
      fallback: { failureThreshold: FALLBACK_FAILURE_THRESHOLD, replicas: FALLBACK_REPLICAS, behavior: 'static' },
    },
    hpa: {
      minReplicas: 1, // GetHPAMinReplicas: max(minReplicaCount, 1)
      maxReplicas: config.maxComfyuiReplicas,
      scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Pods', value: SCALE_UP_PODS_PER_MINUTE, periodSeconds: 60 }] },
      scaleDown: {
        stabilizationWindowSeconds: config.scaleDownStabilizationMinutes * 60,
        selectPolicy: 'Max',
        policies: [{ type: 'Pods', value: SCALE_DOWN_PODS, periodSeconds: SCALE_DOWN_PERIOD_SECONDS }],
      },
    },
    triggers: {
      jobs: { target: perPod, activation: 0 },
      wake: { target: WAKE_QUEUE_TARGET, activation: 0 },
      interactive: { target: perPod, activation: 0 },
    },
    warm: config.warmSchedule && {
      timezone: config.warmSchedule.timezone,
      start: config.warmSchedule.start,
      end: config.warmSchedule.end,
      desiredReplicas: config.warmSchedule.replicas,
    },
  };
}
