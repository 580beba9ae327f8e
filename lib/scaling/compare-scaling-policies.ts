/**
 * The scaling tables of docs/performance.md: the same seeded studio day (studio-day.ts) under fixed replicas, our policy (the
 * typed config's defaults) and our policy with a weekday warm schedule, plus our policy on a day without any
 * arrivals. Printed by scripts/bench/scaling_simulation.ts, asserted by test/lib/scaling-simulate.test.ts.
 */
import { parseScalingKeys, ScalingConfig } from '../config-scaling';
import { SimulationAssumptions, SIMULATION_ASSUMPTIONS } from './simulation-assumptions';
import { ScalingPolicy, SimulationResult, simulateDay } from './simulate';
import { studioDay } from './studio-day';
import { zonedDate } from './zoned-clock';

export const STUDIO_TIMEZONE = 'Europe/Berlin';
/** A Tuesday without a DST change. */
export const STUDIO_DAY = { year: 2026, month: 12, day: 1 } as const;
export const DEFAULT_SEED = 17;

/** Who works that day: the design's studio (section 8), or a small team whose pauses outlast the idle time. */
export interface Team {
  readonly name: string;
  readonly artists: number;
  readonly peakPromptsPerMinute: number;
  readonly eveningJobs: number;
}

export const STUDIO_TEAM: Team = { name: '12 artists, 1.5 prompts/min each at peak, 300 jobs at 19:00', artists: 12, peakPromptsPerMinute: 1.5, eveningJobs: 300 };
export const SMALL_TEAM: Team = { name: '3 artists, 0.1 prompts/min each at peak, 50 jobs at 19:00', artists: 3, peakPromptsPerMinute: 0.1, eveningJobs: 50 };

export interface PolicyOutcome {
  readonly policy: string;
  readonly result: SimulationResult;
  readonly gpuHours: number;
  readonly gpuCost: number;
  /** undefined when no image was made. */
  readonly costPer1000Images?: number;
  readonly p50Wait: number;
  readonly p95Wait: number;
  readonly p95InteractiveWait: number;
}

export interface Comparison {
  readonly outcomes: readonly PolicyOutcome[];
  readonly idleDay: PolicyOutcome;
  readonly seed: number;
  readonly team: Team;
  readonly assumptions: SimulationAssumptions;
}

/** Nearest-rank percentile of ascending values; 0 for none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function defaultScalingConfig(): ScalingConfig {
  return parseScalingKeys(() => undefined, true);
}

export function compareScalingPolicies(
  seed = DEFAULT_SEED, team: Team = STUDIO_TEAM, assumptions: SimulationAssumptions = { ...SIMULATION_ASSUMPTIONS },
): Comparison {
  const config = defaultScalingConfig();
  const withWarm: ScalingConfig = {
    ...config, warmSchedule: { timezone: STUDIO_TIMEZONE, start: '0 9 * * 1-5', end: '0 19 * * 1-5', replicas: 1 },
  };
  const dayStart = zonedDate(STUDIO_TIMEZONE, STUDIO_DAY.year, STUDIO_DAY.month, STUDIO_DAY.day, 0, 0, 0);
  const arrivals = studioDay({
    seed, dayStart, artists: team.artists, peakPromptsPerMinute: team.peakPromptsPerMinute, eveningJobs: team.eveningJobs,
    serviceMedianSeconds: assumptions.serviceMedianSeconds, serviceSigma: assumptions.serviceSigma,
  });
  const policies: Array<[string, ScalingPolicy]> = [
    ['fixed 1 replica', { kind: 'fixed', replicas: 1 }],
    [`fixed ${config.maxComfyuiReplicas} replicas (peak)`, { kind: 'fixed', replicas: config.maxComfyuiReplicas }],
    [`autoscaling 0-${config.maxComfyuiReplicas} (defaults)`, { kind: 'autoscaling', config }],
    ['autoscaling + warm weekdays 09:00-19:00, 1 pod', { kind: 'autoscaling', config: withWarm }],
  ];
  const outcome = (name: string, policy: ScalingPolicy, day = arrivals): PolicyOutcome => {
    const result = simulateDay({ policy, arrivals: day, dayStart, seed, assumptions });
    const gpuHours = result.nodeSeconds / 3600;
    const gpuCost = gpuHours * assumptions.gpuPricePerHour;
    return {
      policy: name, result, gpuHours, gpuCost,
      costPer1000Images: result.images > 0 ? (gpuCost / result.images) * 1000 : undefined,
      p50Wait: percentile(result.waits, 50), p95Wait: percentile(result.waits, 95),
      p95InteractiveWait: percentile(result.interactiveWaits, 95),
    };
  };
  return {
    outcomes: policies.map(([name, policy]) => outcome(name, policy)),
    idleDay: outcome('autoscaling, a day without prompts', { kind: 'autoscaling', config }, []),
    seed,
    team,
    assumptions,
  };
}

const seconds = (value: number): string => (value >= 3600 ? `${(value / 3600).toFixed(1)} h` : value >= 120 ? `${(value / 60).toFixed(1)} min` : `${value.toFixed(0)} s`);

export function formatComparison(comparison: Comparison): string {
  const header = [
    '| policy | images | GPU-hours | GPU cost/day | per 1,000 images | wait p50 | wait p95 | interactive wait p95 | cold starts (warm) | most pods |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const rows = [...comparison.outcomes, comparison.idleDay].map((o) => [
    o.policy, o.result.images, o.gpuHours.toFixed(1), `$${o.gpuCost.toFixed(2)}`,
    o.costPer1000Images === undefined ? '-' : `$${o.costPer1000Images.toFixed(2)}`,
    seconds(o.p50Wait), seconds(o.p95Wait), seconds(o.p95InteractiveWait),
    `${o.result.coldStarts} (${o.result.warmStarts})`, o.result.peakPods,
  ].join(' | ')).map((row) => `| ${row} |`);
  return [...header, ...rows].join('\n');
}
