import { describe, expect, test } from 'vitest';
import { KedaScaledObject, KedaState, KedaTriggerRead, kedaStep } from '../../lib/scaling/keda-step';
import { EMPTY_HPA_STATE, hpaStep } from '../../lib/scaling/hpa-step';
import { readWithFallback, scalerResult } from '../../lib/scaling/read-with-fallback';
import { scaledObjectSpec } from '../../lib/scaling/scaled-object-spec';
import { parseScalingKeys } from '../../lib/config-scaling';

const so: KedaScaledObject = { minReplicaCount: 0, maxReplicaCount: 4, cooldownPeriod: 900, initialCooldownPeriod: 0 };
const withFallback: KedaScaledObject = { ...so, fallback: { failureThreshold: 4, replicas: 1, behavior: 'currentReplicasIfHigher' } };
const state = (change: Partial<KedaState> = {}): KedaState => ({ replicas: 0, createdAt: 0, failures: {}, ...change });
const read = (name: string, value: number, activation = 0): KedaTriggerRead => ({ name, target: 1, result: scalerResult(value, activation) });
const broken = (name: string): KedaTriggerRead => ({ name, target: 1, result: { error: 'connection refused' } });

describe("KEDA's polling step", () => {
  test('activation is a strict comparison: a value equal to the activation threshold does not wake', () => {
    expect(kedaStep(so, state(), [read('jobs', 0)], 100).action).toBe('none');
    expect(kedaStep(so, state(), [read('jobs', 3, 3)], 100).action).toBe('none');
    expect(kedaStep(so, state(), [read('jobs', 4, 3)], 100)).toMatchObject({ action: 'scale-from-zero', state: { replicas: 1, lastActiveTime: 100 } });
  });

  test('any active trigger wakes the target, to max(minReplicaCount, 1)', () => {
    const step = kedaStep({ ...so, minReplicaCount: 0 }, state(), [read('jobs', 0), read('wake', 1), read('interactive', 0)], 10);
    expect(step).toMatchObject({ active: true, action: 'scale-from-zero', state: { replicas: 1 } });
    expect(kedaStep({ ...so, minReplicaCount: 2 }, state(), [read('wake', 1)], 10).state.replicas).toBe(2);
  });

  test('an active poll with pods running only refreshes lastActiveTime; the HPA owns 1 <-> N', () => {
    expect(kedaStep(so, state({ replicas: 3, lastActiveTime: 5 }), [read('jobs', 7)], 60)).toMatchObject({ action: 'keep-active', state: { replicas: 3, lastActiveTime: 60 } });
  });

  test('scale to zero waits until the cooldown has passed: not at exactly lastActiveTime + cooldownPeriod, one second later yes', () => {
    const idle = state({ replicas: 2, lastActiveTime: 1000 });
    expect(kedaStep(so, idle, [read('jobs', 0)], 1900)).toMatchObject({ action: 'cooling-down', state: { replicas: 2 } });
    expect(kedaStep(so, idle, [read('jobs', 0)], 1901)).toMatchObject({ action: 'scale-to-zero', state: { replicas: 0 } });
  });

  test('a never-active object goes to zero after initialCooldownPeriod from its creation (a fresh Deployment starts at 1)', () => {
    const fresh = state({ replicas: 1, createdAt: 500 });
    expect(kedaStep({ ...so, initialCooldownPeriod: 120 }, fresh, [read('jobs', 0)], 620).action).toBe('cooling-down');
    expect(kedaStep({ ...so, initialCooldownPeriod: 120 }, fresh, [read('jobs', 0)], 621).action).toBe('scale-to-zero');
    expect(kedaStep(so, fresh, [read('jobs', 0)], 501).action).toBe('scale-to-zero');
  });

  test('without a fallback, a failing trigger blocks scale to zero however long the idle time', () => {
    const step = kedaStep(so, state({ replicas: 1, lastActiveTime: 0 }), [read('jobs', 0), broken('interactive')], 86_400);
    expect(step).toMatchObject({ action: 'trigger-error', error: true, state: { replicas: 1 } });
  });

  test('but never blocks waking: 0 -> 1 is decided before the error check', () => {
    expect(kedaStep(so, state(), [read('jobs', 1), broken('interactive')], 10)).toMatchObject({ action: 'scale-from-zero', state: { replicas: 1 } });
  });

  test('active with an error while pods run: nothing happens and lastActiveTime is not refreshed', () => {
    const step = kedaStep(so, state({ replicas: 2, lastActiveTime: 5 }), [read('jobs', 3), broken('interactive')], 100);
    expect(step).toMatchObject({ action: 'partial-error', state: { replicas: 2, lastActiveTime: 5 } });
  });

  test('with a fallback, a failing trigger is inactive until the failures exceed the threshold, then counts as active and wakes a pod', () => {
    let current = state();
    const actions: string[] = [];
    for (let poll = 1; poll <= 5; poll += 1) {
      const step = kedaStep(withFallback, current, [read('jobs', 0), broken('interactive')], poll * 15);
      actions.push(step.action);
      current = step.state;
    }
    expect(actions).toEqual(['fallback-pending', 'fallback-pending', 'fallback-pending', 'fallback-pending', 'scale-from-zero']);
    expect(current.failures.interactive).toBe(5);
    // and once it answers again the count resets
    expect(kedaStep(withFallback, current, [read('jobs', 0), read('interactive', 0)], 90).state.failures.interactive).toBe(0);
  });

  test('with a fallback of 0 replicas an erroring, inactive object still goes to zero after the cooldown', () => {
    const zeroFallback = { ...so, fallback: { failureThreshold: 100, replicas: 0, behavior: 'static' as const } };
    expect(kedaStep(zeroFallback, state({ replicas: 1, lastActiveTime: 0 }), [broken('jobs')], 1000).action).toBe('scale-to-zero');
  });
});

describe("KEDA's fallback metric", () => {
  const fallback = { failureThreshold: 2, replicas: 2, behavior: 'currentReplicasIfHigher' as const };

  test('stands for max(current, fallback.replicas) pods: target x replicas for an AverageValue metric', () => {
    expect(readWithFallback({ error: 'x' }, 3, fallback, 2, 5)).toMatchObject({ value: 15, active: true, fallbackActive: true, failures: 3 });
    expect(readWithFallback({ error: 'x' }, 3, fallback, 2, 1)).toMatchObject({ value: 6, fallbackActive: true });
  });

  test('static, currentReplicas and currentReplicasIfLower behave as named', () => {
    expect(readWithFallback({ error: 'x' }, 1, { ...fallback, behavior: 'static' }, 9, 5).value).toBe(2);
    expect(readWithFallback({ error: 'x' }, 1, { ...fallback, behavior: 'currentReplicas' }, 9, 5).value).toBe(5);
    expect(readWithFallback({ error: 'x' }, 1, { ...fallback, behavior: 'currentReplicasIfLower' }, 9, 5).value).toBe(2);
  });

  test('until the threshold is exceeded the read stays an error; without a fallback the count is not kept', () => {
    expect(readWithFallback({ error: 'x' }, 1, fallback, 1, 1)).toMatchObject({ error: 'x', failures: 2, fallbackActive: false });
    expect(readWithFallback({ error: 'x' }, 1, undefined, 0, 1)).toMatchObject({ error: 'x', failures: 0 });
  });
});

describe('the ScaledObject of our config when the job runner is down', () => {
  const spec = scaledObjectSpec(parseScalingKeys(() => undefined, true), 1);

  test('with currentReplicasIfHigher the broken interactive trigger would hold every running pod: the HPA could not scale in', () => {
    const ifHigher = { ...spec.keda.fallback!, behavior: 'currentReplicasIfHigher' as const };
    const failed = readWithFallback({ error: 'connection refused' }, spec.triggers.interactive.target, ifHigher, 4, 4);
    expect(failed).toMatchObject({ fallbackActive: true, value: 4 });
    const metrics = [{ value: 0, target: spec.triggers.jobs.target }, { value: failed.value!, target: spec.triggers.interactive.target }];
    expect(hpaStep(spec.hpa, EMPTY_HPA_STATE, 4, 4, metrics, 0).replicas).toBe(4);
  });

  test('our static fallback stands for one pod: four idle pods scale in once the stabilization window has passed', () => {
    expect(spec.keda.fallback).toMatchObject({ behavior: 'static', replicas: 1 });
    const failed = readWithFallback({ error: 'connection refused' }, spec.triggers.interactive.target, spec.keda.fallback, 4, 4);
    expect(failed).toMatchObject({ fallbackActive: true, active: true, value: spec.triggers.interactive.target });
    const metrics = [{ value: 0, target: spec.triggers.jobs.target }, { value: failed.value!, target: spec.triggers.interactive.target }];
    const first = hpaStep(spec.hpa, EMPTY_HPA_STATE, 4, 4, metrics, 0);
    expect(first.replicas).toBe(4); // the window still holds the initial recommendation of 4
    const window = spec.hpa.scaleDown.stabilizationWindowSeconds;
    expect(hpaStep(spec.hpa, first.state, 4, 4, metrics, window + 1).replicas).toBe(3);
  });
});
