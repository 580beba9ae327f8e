/**
 * One sync of the HPA that KEDA creates for a ScaledObject (every 15 s, kube-controller-manager's
 * `--horizontal-pod-autoscaler-sync-period` default), ported from kubernetes v1.35.4
 * `pkg/controller/podautoscaler/horizontal.go`: `reconcileAutoscaler` (disabled at 0 replicas when minReplicas is
 * not 0; clamp to [min, max]; otherwise metrics), `normalizeDesiredReplicasWithBehaviors` =
 * `stabilizeRecommendationWithBehaviors` (the desired count is held between the LOWEST recommendation of the
 * scale-up window and the HIGHEST of the scale-down window; recommendations are stored unstabilized) then
 * `convertDesiredReplicasWithBehaviorRate` (policies: Pods/Percent per periodSeconds, counted from the scale events
 * of the last period, `calculateScaleUpLimitWithScalingRules` / `calculateScaleDownLimitWithBehaviors`), and
 * `storeScaleEvent`. Times are seconds; "after the cutoff" is strict as in Go's `time.After`.
 */
import { HpaMetric, hpaDesired, HPA_TOLERANCE } from './hpa-desired';

export interface HpaScalingPolicy {
  readonly type: 'Pods' | 'Percent';
  readonly value: number;
  readonly periodSeconds: number;
}

export interface HpaScalingRules {
  readonly stabilizationWindowSeconds: number;
  /** The API server defaults it to Max. */
  readonly selectPolicy: 'Max' | 'Min' | 'Disabled';
  readonly policies: readonly HpaScalingPolicy[];
}

export interface HpaSpec {
  /** KEDA's `GetHPAMinReplicas`: max(minReplicaCount, 1). */
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly scaleUp: HpaScalingRules;
  readonly scaleDown: HpaScalingRules;
}

interface Timestamped {
  readonly at: number;
}
export interface Recommendation extends Timestamped {
  readonly replicas: number;
}
export interface ScaleEvent extends Timestamped {
  readonly change: number;
  readonly outdated: boolean;
}

/** The controller's in-memory memory of one HPA; starts empty. */
export interface HpaState {
  readonly recommendations?: readonly Recommendation[];
  readonly scaleUpEvents: readonly ScaleEvent[];
  readonly scaleDownEvents: readonly ScaleEvent[];
}

export const EMPTY_HPA_STATE: HpaState = { scaleUpEvents: [], scaleDownEvents: [] };

export interface HpaStep {
  readonly state: HpaState;
  /** spec.replicas after this sync. */
  readonly replicas: number;
  readonly reason: string;
}

export function hpaStep(
  spec: HpaSpec, state: HpaState, specReplicas: number, statusReplicas: number, metrics: readonly HpaMetric[], now: number,
  tolerance = HPA_TOLERANCE,
): HpaStep {
  const current = specReplicas;
  // recordInitialRecommendation
  let recommendations = state.recommendations ?? [{ replicas: current, at: now }];
  let desired: number;
  let reason: string;
  if (current === 0 && spec.minReplicas !== 0) {
    return { state: { ...state, recommendations }, replicas: 0, reason: 'ScalingDisabled' };
  } else if (current > spec.maxReplicas) {
    [desired, reason] = [spec.maxReplicas, 'Current number of replicas above Spec.MaxReplicas'];
  } else if (current < spec.minReplicas) {
    [desired, reason] = [spec.minReplicas, 'Current number of replicas below Spec.MinReplicas'];
  } else {
    const computed = hpaDesired(metrics, specReplicas, statusReplicas, tolerance);
    if ('error' in computed) return { state: { ...state, recommendations }, replicas: current, reason: `FailedComputeMetricsReplicas: ${computed.error}` };
    const stabilized = stabilizeRecommendation(spec, recommendations, current, computed.replicas, now);
    recommendations = stabilized.recommendations;
    [desired, reason] = limitByPolicies(spec, state, current, stabilized.replicas, now);
  }
  if (desired === current) return { state: { ...state, recommendations }, replicas: current, reason };
  return { state: { ...storeScaleEvent(spec, state, current, desired, now), recommendations }, replicas: desired, reason };
}

function stabilizeRecommendation(
  spec: HpaSpec, recommendations: readonly Recommendation[], current: number, desired: number, now: number,
): { replicas: number; recommendations: Recommendation[] } {
  const upCutoff = now - spec.scaleUp.stabilizationWindowSeconds;
  const downCutoff = now - spec.scaleDown.stabilizationWindowSeconds;
  let up = desired;
  let down = desired;
  let oldIndex = -1;
  recommendations.forEach((rec, i) => {
    if (rec.at > upCutoff) up = Math.min(rec.replicas, up);
    if (rec.at > downCutoff) down = Math.max(rec.replicas, down);
    if (rec.at < upCutoff && rec.at < downCutoff) oldIndex = i;
  });
  const replicas = Math.min(Math.max(current, up), down);
  const stored = [...recommendations];
  if (oldIndex >= 0) stored[oldIndex] = { replicas: desired, at: now };
  else stored.push({ replicas: desired, at: now });
  return { replicas, recommendations: stored };
}

const changeInPeriod = (events: readonly ScaleEvent[], periodSeconds: number, now: number): number => (
  events.filter((event) => event.at > now - periodSeconds).reduce((sum, event) => sum + event.change, 0)
);

function periodStart(state: HpaState, current: number, periodSeconds: number, now: number): number {
  return current - changeInPeriod(state.scaleUpEvents, periodSeconds, now) + changeInPeriod(state.scaleDownEvents, periodSeconds, now);
}

function scaleUpLimit(rules: HpaScalingRules, state: HpaState, current: number, now: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  const pick = rules.selectPolicy === 'Min' ? Math.min : Math.max;
  let result = rules.selectPolicy === 'Min' ? Infinity : -Infinity;
  for (const policy of rules.policies) {
    const start = periodStart(state, current, policy.periodSeconds, now);
    const proposed = policy.type === 'Pods' ? start + policy.value : Math.ceil(start * (1 + policy.value / 100));
    result = pick(result, proposed);
  }
  return result;
}

function scaleDownLimit(rules: HpaScalingRules, state: HpaState, current: number, now: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  const pick = rules.selectPolicy === 'Min' ? Math.max : Math.min;
  let result = rules.selectPolicy === 'Min' ? -Infinity : Infinity;
  for (const policy of rules.policies) {
    const start = periodStart(state, current, policy.periodSeconds, now);
    const proposed = policy.type === 'Pods' ? start - policy.value : Math.trunc(start * (1 - policy.value / 100));
    result = pick(result, proposed);
  }
  return result;
}

/** `convertDesiredReplicasWithBehaviorRate`. */
function limitByPolicies(spec: HpaSpec, state: HpaState, current: number, desired: number, now: number): [number, string] {
  if (desired > current) {
    const limit = Math.max(scaleUpLimit(spec.scaleUp, state, current, now), current);
    const [maximum, reason] = spec.maxReplicas > limit ? [limit, 'ScaleUpLimit'] : [spec.maxReplicas, 'TooManyReplicas'];
    if (desired > maximum) return [maximum, reason];
  } else if (desired < current) {
    const limit = Math.min(scaleDownLimit(spec.scaleDown, state, current, now), current);
    const [minimum, reason] = spec.minReplicas < limit ? [limit, 'ScaleDownLimit'] : [spec.minReplicas, 'TooFewReplicas'];
    if (desired < minimum) return [minimum, reason];
  }
  return [desired, 'DesiredWithinRange'];
}

function longestPeriod(rules: HpaScalingRules): number {
  return rules.policies.reduce((longest, policy) => Math.max(longest, policy.periodSeconds), 0);
}

/** `storeScaleEvent` with `markScaleEventsOutdated`: reuse the last outdated slot, else append. */
function storeScaleEvent(spec: HpaSpec, state: HpaState, previous: number, next: number, now: number): HpaState {
  const up = next > previous;
  const rules = up ? spec.scaleUp : spec.scaleDown;
  const cutoff = now - longestPeriod(rules);
  const events = (up ? state.scaleUpEvents : state.scaleDownEvents).map((event) => (event.at < cutoff ? { ...event, outdated: true } : event));
  const event: ScaleEvent = { change: Math.abs(next - previous), at: now, outdated: false };
  let oldIndex = -1;
  events.forEach((candidate, i) => {
    if (candidate.outdated) oldIndex = i;
  });
  if (oldIndex >= 0) events[oldIndex] = event;
  else events.push(event);
  return up ? { ...state, scaleUpEvents: events } : { ...state, scaleDownEvents: events };
}
