import { describe, expect, test } from 'vitest';
import { externalPerPodReplicas, hpaDesired } from '../../lib/scaling/hpa-desired';
import { EMPTY_HPA_STATE, HpaSpec, HpaState, hpaStep } from '../../lib/scaling/hpa-step';

const spec: HpaSpec = {
  minReplicas: 1,
  maxReplicas: 4,
  scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 4, periodSeconds: 60 }] },
  scaleDown: { stabilizationWindowSeconds: 600, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 1, periodSeconds: 300 }] },
};
const jobs = (value: number) => ({ value, target: 1 });

/** Runs HPA syncs every 15 s from `from` to `to` with the demand `demand(t)`, returning the replicas after each. */
function run(s: HpaSpec, replicas: number, demand: (t: number) => number, from: number, to: number, state: HpaState = EMPTY_HPA_STATE) {
  const trace: Array<[number, number]> = [];
  for (let t = from; t <= to; t += 15) {
    const step = hpaStep(s, state, replicas, replicas, [jobs(demand(t))], t);
    [state, replicas] = [step.state, step.replicas];
    trace.push([t, replicas]);
  }
  return { trace, state, replicas };
}

describe('the HPA replica count for AverageValue external metrics', () => {
  test('ceil(total / target) outside the 0.1 tolerance; the current count inside it, both ends inclusive', () => {
    expect(externalPerPodReplicas(11, 1, 10)).toBe(10); // ratio 1.1
    expect(externalPerPodReplicas(11.01, 1, 10)).toBe(12);
    expect(externalPerPodReplicas(9, 1, 10)).toBe(10); // ratio 0.9
    expect(externalPerPodReplicas(8.99, 1, 10)).toBe(9);
    expect(externalPerPodReplicas(7, 2, 1)).toBe(4);
  });

  test('the highest proposal over the metrics wins', () => {
    expect(hpaDesired([jobs(2), { value: 3, target: 1 }, { value: 1, target: 100_000 }], 1, 1)).toEqual({ replicas: 3 });
  });

  test('a failed metric blocks scaling down but not scaling up; all failed is an error', () => {
    const failed = { error: 'no metric', target: 1 };
    expect(hpaDesired([jobs(1), failed], 3, 3)).toHaveProperty('error');
    expect(hpaDesired([jobs(5), failed], 3, 3)).toEqual({ replicas: 5 });
    expect(hpaDesired([failed], 3, 3)).toHaveProperty('error');
  });
});

describe('one HPA sync with the behaviour of the ScaledObject', () => {
  test('is disabled at 0 replicas (KEDA wakes the target)', () => {
    expect(hpaStep(spec, EMPTY_HPA_STATE, 0, 0, [jobs(9)], 0)).toMatchObject({ replicas: 0, reason: 'ScalingDisabled' });
  });

  test('clamps to minReplicas 1 and maxReplicaCount', () => {
    expect(hpaStep(spec, EMPTY_HPA_STATE, 1, 1, [jobs(0)], 0).replicas).toBe(1);
    expect(hpaStep(spec, EMPTY_HPA_STATE, 1, 1, [jobs(40)], 0)).toMatchObject({ replicas: 4, reason: 'TooManyReplicas' });
    expect(hpaStep(spec, EMPTY_HPA_STATE, 6, 6, [jobs(40)], 0).replicas).toBe(4);
  });

  test('adds at most 4 pods per 60 s, counted from the scale events of the last period', () => {
    const wide = { ...spec, maxReplicas: 20 };
    const { trace } = run(wide, 1, () => 20, 0, 75);
    expect(trace).toEqual([[0, 5], [15, 5], [30, 5], [45, 5], [60, 9], [75, 9]]); // an event exactly 60 s old no longer counts
  });

  test('holds the highest recommendation of the 600 s window: 599 s after the last high one it keeps 4, 600 s after it may remove one', () => {
    const { state } = run(spec, 4, () => 4, 0, 990); // the last high recommendation at 990 s
    const low = (t: number) => hpaStep(spec, state, 4, 4, [jobs(1)], t);
    expect(low(1589)).toMatchObject({ replicas: 4 });
    expect(low(1590)).toMatchObject({ replicas: 3, reason: 'ScaleDownLimit' });
  });

  test('removes at most one pod per 300 s while the demand stays low', () => {
    const { trace } = run(spec, 4, (t) => (t <= 1000 ? 4 : 0), 0, 2500);
    const changes = trace.filter(([, r], i) => i > 0 && r !== trace[i - 1][1]);
    expect(changes).toEqual([[1590, 3], [1890, 2], [2190, 1]]);
  });

  test('a brief dip inside the window does not remove a pod', () => {
    const { trace } = run(spec, 3, (t) => (t >= 600 && t < 700 ? 0 : 3), 0, 1500);
    expect(trace.every(([, r]) => r === 3)).toBe(true);
  });
});
