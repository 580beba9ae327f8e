/**
 * One tick of KEDA's polling loop for a ScaledObject (KEDA 2.20.2): every `pollingInterval` the operator reads all
 * triggers (`pkg/scaling/scale_handler.go` `checkScalers` -> `getScaledObjectState`): the object is active when ANY
 * trigger is active and in error when ANY trigger failed; then `pkg/scaling/executor/scale_scaledobjects.go`
 * `RequestScale` decides. It only ever moves the target between 0 and `max(minReplicaCount, 1)`; 1 <-> N is the
 * HPA's (see hpa-step.ts). Paused annotations, idleReplicaCount and scalingModifiers are not modelled (not used).
 */
import { Fallback, readWithFallback, ScalerResult } from './read-with-fallback';

export interface KedaScaledObject {
  readonly minReplicaCount: number;
  readonly maxReplicaCount: number;
  /** Seconds after the last active poll before N -> 0 (default 300, `scale_executor.go`). */
  readonly cooldownPeriod: number;
  /** Seconds after creation before a never-active object may go to 0 (default 0). */
  readonly initialCooldownPeriod: number;
  readonly fallback?: Fallback;
}

export interface KedaTriggerRead {
  readonly name: string;
  /** AverageValue target of the trigger's metric (what a fallback value is a multiple of). */
  readonly target: number;
  readonly result: ScalerResult;
}

export interface KedaState {
  /** The target's `spec.replicas` (scale subresource). */
  readonly replicas: number;
  /** `status.lastActiveTime`, seconds; undefined until the first active poll. */
  readonly lastActiveTime?: number;
  /** The ScaledObject's creationTimestamp, seconds. */
  readonly createdAt: number;
  /** `status.health[metric].numberOfFailures`. */
  readonly failures: Readonly<Record<string, number>>;
}

export type KedaAction =
  | 'scale-from-zero' // active, replicas 0 -> max(min, 1), lastActiveTime stamped
  | 'keep-active' // active, replicas > 0: lastActiveTime = now
  | 'partial-error' // active but a trigger errored: nothing, lastActiveTime NOT refreshed
  | 'fallback-pending' // inactive, error, fallback configured: only logged
  | 'trigger-error' // inactive, error, no fallback: Ready=False, nothing (blocks scale to zero)
  | 'scale-to-zero' // inactive past the cooldown: replicas -> minReplicaCount
  | 'cooling-down' // inactive within the cooldown
  | 'scale-to-min' // inactive, replicas below minReplicaCount
  | 'none';

export interface KedaStep {
  readonly state: KedaState;
  readonly action: KedaAction;
  readonly active: boolean;
  readonly error: boolean;
}

export function kedaStep(so: KedaScaledObject, state: KedaState, reads: readonly KedaTriggerRead[], now: number): KedaStep {
  const failures: Record<string, number> = { ...state.failures };
  let active = false;
  let error = false;
  for (const read of reads) {
    const outcome = readWithFallback(read.result, read.target, so.fallback, failures[read.name] ?? 0, state.replicas);
    failures[read.name] = outcome.failures;
    if (outcome.error !== undefined) error = true;
    else if (outcome.active) active = true;
  }
  const next = (action: KedaAction, change: Partial<KedaState> = {}): KedaStep => (
    { state: { ...state, failures, ...change }, action, active, error }
  );
  const min = so.minReplicaCount;
  if (active) {
    // The 0 -> 1 case is tested before isError: a broken trigger never blocks waking.
    if (state.replicas === 0) return next('scale-from-zero', { replicas: Math.max(min, 1), lastActiveTime: now });
    if (error) return next('partial-error');
    return next('keep-active', { lastActiveTime: now });
  }
  if (error && so.fallback !== undefined && so.fallback.replicas !== 0) return next('fallback-pending');
  if (error && so.fallback === undefined) return next('trigger-error');
  if (state.replicas > 0 && min === 0) {
    // scaleToZeroOrIdle: `lastActiveTime.Add(cooldownPeriod).Before(now)`, strict: at exactly the boundary it waits.
    const since = state.lastActiveTime;
    const due = since === undefined ? state.createdAt + so.initialCooldownPeriod < now : since + so.cooldownPeriod < now;
    return due ? next('scale-to-zero', { replicas: min }) : next('cooling-down');
  }
  if (state.replicas < min) return next('scale-to-min', { replicas: min });
  return next('none');
}
