import { beforeAll, describe, expect, test } from 'vitest';
import {
  Comparison, compareScalingPolicies, formatComparison, percentile, SMALL_TEAM, STUDIO_DAY, STUDIO_TIMEZONE,
} from '../../lib/scaling/compare-scaling-policies';
import { SIMULATION_ASSUMPTIONS } from '../../lib/scaling/simulation-assumptions';
import { studioDay } from '../../lib/scaling/studio-day';
import { wallClock, zonedDate } from '../../lib/scaling/zoned-clock';

const SEED = 17;
const dayStart = zonedDate(STUDIO_TIMEZONE, STUDIO_DAY.year, STUDIO_DAY.month, STUDIO_DAY.day, 0, 0, 0);
const localTime = (t: number): string => {
  const w = wallClock(STUDIO_TIMEZONE, t);
  return `${String(w.hour).padStart(2, '0')}:${String(w.minute).padStart(2, '0')}`;
};

describe('the studio day trace', () => {
  const arrivals = studioDay({ seed: SEED, dayStart, serviceMedianSeconds: 8, serviceSigma: 0.35 });

  test('has no prompt before 08:30, none between 18:30 and 19:00, and 300 template jobs at 19:00', () => {
    const interactive = arrivals.filter((a) => a.kind === 'interactive');
    expect(localTime(interactive[0].at) >= '08:30').toBe(true);
    expect(localTime(interactive[interactive.length - 1].at) < '18:30').toBe(true);
    const jobs = arrivals.filter((a) => a.kind === 'job');
    expect(jobs).toHaveLength(300);
    expect(new Set(jobs.map((j) => localTime(j.at)))).toEqual(new Set(['19:00']));
  });

  test('dips over lunch to a fraction of the late morning', () => {
    const between = (fromHour: number, toHour: number) => arrivals.filter((a) => (
      a.kind === 'interactive' && a.at >= dayStart + fromHour * 3600 && a.at < dayStart + toHour * 3600
    )).length; // no DST change on this day
    expect(between(12, 13)).toBeLessThan(between(11, 12) / 3);
  });

  test('is the same for the same seed and differs for another', () => {
    expect(studioDay({ seed: SEED, dayStart, serviceMedianSeconds: 8, serviceSigma: 0.35 })).toEqual(arrivals);
    expect(studioDay({ seed: SEED + 1, dayStart, serviceMedianSeconds: 8, serviceSigma: 0.35 })).not.toEqual(arrivals);
  });
});

describe('scaling policies over the studio day (seed pinned)', () => {
  let studio: Comparison;
  beforeAll(() => {
    studio = compareScalingPolicies(SEED);
  });
  const byName = (prefix: string) => studio.outcomes.find((o) => o.policy.startsWith(prefix))!;

  test('every policy serves every prompt of the day', () => {
    const total = studioDay({ seed: SEED, dayStart, ...SIMULATION_ASSUMPTIONS }).length;
    for (const outcome of studio.outcomes) expect(outcome.result.images).toBe(total);
  });

  test('our policy costs less than keeping the peak all day, and queues far less than one fixed replica', () => {
    const ours = byName('autoscaling 0-4');
    expect(ours.gpuCost).toBeLessThan(byName('fixed 4').gpuCost * 0.6);
    expect(ours.p95Wait).toBeLessThan(byName('fixed 1').p95Wait / 10);
  });

  test('our policy starts GPUs only after the first prompt and has none overnight', () => {
    const changes = byName('autoscaling 0-4').result.replicaChanges;
    const firstUp = changes.find(([, replicas]) => replicas > 0)!;
    expect(localTime(firstUp[0]) >= '08:30').toBe(true);
    expect(changes[changes.length - 1][1]).toBe(0);
    expect(Math.max(...changes.map(([, r]) => r))).toBe(4);
  });

  test('an idle day costs no GPU at all', () => {
    expect(studio.idleDay.gpuHours).toBe(0);
    expect(studio.idleDay.gpuCost).toBe(0);
    expect(studio.idleDay.result.coldStarts).toBe(0);
  });

  test('the warm schedule never makes the wait worse for a busy studio (its pods rarely reach zero by day)', () => {
    expect(byName('autoscaling + warm').p95Wait).toBeLessThanOrEqual(byName('autoscaling 0-4').p95Wait);
  });

  test('prints one markdown row per policy and the idle day', () => {
    const table = formatComparison(studio).split('\n');
    expect(table).toHaveLength(2 + studio.outcomes.length + 1);
    expect(table[table.length - 1]).toContain('| $0.00 |');
  });
});

describe('scaling policies for a small team whose pauses outlast the idle time (seed pinned)', () => {
  let small: Comparison;
  beforeAll(() => {
    small = compareScalingPolicies(SEED, SMALL_TEAM);
  });
  const byName = (prefix: string) => small.outcomes.find((o) => o.policy.startsWith(prefix))!;

  test('the warm schedule lowers the p95 wait, overall and for interactive prompts', () => {
    const ours = byName('autoscaling 0-4');
    const warm = byName('autoscaling + warm');
    expect(warm.p95Wait).toBeLessThan(ours.p95Wait);
    expect(warm.p95InteractiveWait).toBeLessThan(ours.p95InteractiveWait);
  });

  test('our policy costs less than one fixed replica', () => {
    expect(byName('autoscaling 0-4').gpuCost).toBeLessThan(byName('fixed 1').gpuCost);
  });
});

describe('percentile', () => {
  test('is the nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 95)).toBe(95);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([], 95)).toBe(0);
  });
});
