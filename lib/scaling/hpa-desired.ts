/**
 * The replica count the HPA computes from its metrics, for the AverageValue external metrics KEDA exposes
 * (kubernetes v1.35.4 `pkg/controller/podautoscaler`):
 * - per metric, `replica_calculator.go` `GetExternalPerPodMetricReplicas`: usageRatio = total / (target x
 *   status.replicas); within the tolerance (`Tolerances.isWithin`: 1 - 0.1 <= ratio <= 1 + 0.1, inclusive, the
 *   kube-controller-manager default) the count stays at status.replicas, otherwise ceil(total / target);
 * - over metrics, `horizontal.go` `computeReplicasForMetrics`: the highest proposal wins; when every metric failed,
 *   or some failed and the rest would scale down (below spec.replicas), nothing is computed (an error).
 */

/** One external metric as the HPA reads it from KEDA: the total value, or the error KEDA's metrics server gave. */
export type HpaMetric = { readonly value: number; readonly target: number } | { readonly error: string; readonly target: number };

export const HPA_TOLERANCE = 0.1;

export function externalPerPodReplicas(total: number, target: number, statusReplicas: number, tolerance = HPA_TOLERANCE): number {
  const usageRatio = total / (target * statusReplicas);
  const within = 1 - tolerance <= usageRatio && usageRatio <= 1 + tolerance;
  return within ? statusReplicas : Math.ceil(total / target);
}

/** The desired replicas before behaviour and limits, or an error (HPA condition ScalingActive=False). */
export function hpaDesired(
  metrics: readonly HpaMetric[], specReplicas: number, statusReplicas: number, tolerance = HPA_TOLERANCE,
): { replicas: number } | { error: string } {
  let replicas = 0;
  let invalid = 0;
  let firstError = '';
  for (const metric of metrics) {
    if ('error' in metric) {
      if (invalid === 0) firstError = metric.error;
      invalid += 1;
      continue;
    }
    const proposal = externalPerPodReplicas(metric.value, metric.target, statusReplicas, tolerance);
    if (replicas === 0 || proposal > replicas) replicas = proposal;
  }
  if (invalid >= metrics.length || (invalid > 0 && replicas < specReplicas)) {
    return { error: `invalid metrics (${invalid} invalid out of ${metrics.length}), first error is: ${firstError}` };
  }
  return { replicas };
}
