/**
 * Whether KEDA's cron trigger is active, as `GetMetricsAndActivity` in KEDA 2.20.2 `pkg/scalers/cron_scaler.go`
 * decides it: it computes the NEXT start and the NEXT end after now (robfig `Next`, in the trigger's timezone) and
 *   - next start before next end: active iff now is after next start and before next end, never true (both lie
 *     ahead), so inactive;
 *   - otherwise (its comment says "interval spans midnight"): now after next start (never) or now before next end
 *     (always), so active.
 * In effect: active iff the next end comes no later than the next start. For `0 9 * * 1-5` / `0 19 * * 1-5` that is
 * [09:00, 19:00) on weekdays; at exactly 09:00:00 it is already active, at 19:00:00 no longer. A start and end
 * with different day fields can surprise: with end `0 19 * * *`, Saturday 10:00 is active (the next end, Saturday
 * 19:00, comes before Monday's start) though no start happened that day.
 */
import { CronSchedule, nextCronTime, parseCronSchedule } from './cron-schedule';
import { assertTimeZone } from './zoned-clock';

export interface CronTriggerSpec {
  /** IANA zone the schedules are read in. */
  readonly timezone: string;
  readonly start: string;
  readonly end: string;
  /** The metric value while active: KEDA's `desiredReplicas` against an AverageValue target of 1. */
  readonly desiredReplicas: number;
}

export interface CronWindow {
  readonly active: boolean;
  /** The metric KEDA reports to the HPA: desiredReplicas while active, else 0. */
  readonly value: number;
  /** The activity can change no earlier than this (the earlier of next start and next end). */
  readonly validUntil: number;
}

/** KEDA's `cronMetadata.Validate`: both schedules parse, they differ, desiredReplicas is set. */
export function parseCronTrigger(spec: CronTriggerSpec): { start: CronSchedule; end: CronSchedule } {
  assertTimeZone(spec.timezone);
  const start = parseCronSchedule(spec.start);
  const end = parseCronSchedule(spec.end);
  if (spec.start === spec.end) throw new Error('start and end can not have exactly same time input');
  if (spec.desiredReplicas === 0) throw new Error('no desiredReplicas specified');
  return { start, end };
}

export function cronWindow(spec: CronTriggerSpec, nowSeconds: number): CronWindow {
  const { start, end } = parseCronTrigger(spec);
  const nextStart = nextCronTime(start, spec.timezone, nowSeconds) ?? -Infinity;
  const nextEnd = nextCronTime(end, spec.timezone, nowSeconds) ?? -Infinity;
  // Go: nextStartTime.Before(nextEndTime) -> currentTime.After(nextStartTime) && ...; else ... || currentTime.Before(nextEndTime)
  const active = nextStart < nextEnd ? nowSeconds > nextStart && nowSeconds < nextEnd : nowSeconds > nextStart || nowSeconds < nextEnd;
  const validUntil = Math.min(...[nextStart, nextEnd].filter(Number.isFinite), Infinity);
  return { active, value: active ? spec.desiredReplicas : 0, validUntil };
}
