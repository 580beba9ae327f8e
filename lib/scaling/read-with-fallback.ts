/**
 * One trigger read through KEDA's fallback, as `fallback.GetMetricsWithFallback` (KEDA 2.20.2
 * `pkg/fallback/fallback.go`) does for both the polling loop (`scale_handler.go` `getScalerState`) and every HPA
 * metric request (`GetScaledObjectMetrics`): each failed read of a metric counts one failure (the count lives in
 * the ScaledObject's `status.health` and is shared by both paths); a good read resets it. Once the count EXCEEDS
 * `failureThreshold`, the read succeeds with the fallback value instead (`doFallback`: target x replicas for an
 * AverageValue trigger), and the polling loop treats the trigger as active (`isActiveOrFallback`; CHANGELOG v2.19.0
 * "Apply fallback in polling loop to enable scaling from zero", kedacore/keda#7239).
 */

export type FallbackBehavior = 'static' | 'currentReplicas' | 'currentReplicasIfHigher' | 'currentReplicasIfLower';

export interface Fallback {
  readonly failureThreshold: number;
  readonly replicas: number;
  /** KEDA's default is `static`. */
  readonly behavior: FallbackBehavior;
}

/** What a scaler returned: its metric and activity (`value > activation`, strict), or an error. */
export type ScalerResult = { readonly value: number; readonly active: boolean } | { readonly error: string };

export interface FallbackRead {
  /** The failure count to store for this metric afterwards. */
  readonly failures: number;
  /** The metric the HPA sees, absent on error. */
  readonly value?: number;
  readonly active: boolean;
  readonly error?: string;
  readonly fallbackActive: boolean;
}

/**
 * KEDA's scalers report activity as a strict comparison: `aws_sqs_queue_scaler.go` `queuelen >
 * activationQueueLength`, `metrics_api_scaler.go` `val > activationTargetValue`. With threshold 0 one message is
 * enough; a value equal to the threshold is inactive.
 */
export function scalerResult(value: number, activationThreshold: number): ScalerResult {
  return { value, active: value > activationThreshold };
}

/** `HasValidFallback` (without scalingModifiers): threshold and replicas must not be negative. */
function hasValidFallback(fallback: Fallback): boolean {
  return fallback.failureThreshold >= 0 && fallback.replicas >= 0;
}

/** `doFallback`: the replica count the fallback metric stands for. */
function fallbackReplicas(fallback: Fallback, currentReplicas: number): number {
  switch (fallback.behavior) {
    case 'currentReplicas': return currentReplicas;
    case 'currentReplicasIfHigher': return Math.max(currentReplicas, fallback.replicas);
    case 'currentReplicasIfLower': return Math.min(currentReplicas, fallback.replicas);
    default: return fallback.replicas;
  }
}

export function readWithFallback(
  result: ScalerResult, averageValueTarget: number, fallback: Fallback | undefined, failures: number, currentReplicas: number,
): FallbackRead {
  const configured = fallback !== undefined && hasValidFallback(fallback);
  if (!('error' in result)) {
    return { failures: configured ? 0 : failures, value: result.value, active: result.active, fallbackActive: false };
  }
  if (!configured) return { failures, active: false, error: result.error, fallbackActive: false };
  const count = failures + 1;
  if (count > fallback.failureThreshold) {
    return { failures: count, value: averageValueTarget * fallbackReplicas(fallback, currentReplicas), active: true, fallbackActive: true };
  }
  return { failures: count, active: false, error: result.error, fallbackActive: false };
}
