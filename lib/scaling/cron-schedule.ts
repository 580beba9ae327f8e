/**
 * The 5-field cron schedules of KEDA's cron scaler: robfig/cron v3.0.1 as KEDA 2.20.2 parses them
 * (`pkg/scalers/cron_scaler.go`: `cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)`),
 * ported from robfig's `parser.go` (`getRange`, `parseIntOrName`) and `spec.go` (`SpecSchedule.Next`). Seconds are
 * always 0 (the parser's default for the omitted field); descriptors such as `@daily` are refused, as there.
 */
import { addDate, wallClock, zonedDate } from './zoned-clock';

/** One bit set per allowed value; `star` as robfig's starBit (matters for day-of-month vs day-of-week). */
interface FieldBits {
  readonly bits: bigint;
  readonly star: boolean;
}

export interface CronSchedule {
  readonly minute: FieldBits;
  readonly hour: FieldBits;
  readonly dom: FieldBits;
  readonly month: FieldBits;
  readonly dow: FieldBits;
}

interface Bounds {
  readonly min: number;
  readonly max: number;
  readonly names?: Readonly<Record<string, number>>;
}

const MINUTES: Bounds = { min: 0, max: 59 };
const HOURS: Bounds = { min: 0, max: 23 };
const DOM: Bounds = { min: 1, max: 31 };
const MONTHS: Bounds = {
  min: 1, max: 12,
  names: { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 },
};
const DOW: Bounds = { min: 0, max: 6, names: { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 } };

/** Parses `minute hour day-of-month month day-of-week`; errors read like robfig's, naming the expression. */
export function parseCronSchedule(spec: string): CronSchedule {
  if (spec.trim().startsWith('@')) throw new Error(`parser does not accept descriptors: ${spec}`);
  const fields = spec.trim().split(/\s+/);
  if (fields.length !== 5) throw new Error(`expected exactly 5 fields, found ${fields.length}: [${fields.join(' ')}]`);
  const [minute, hour, dom, month, dow] = fields;
  return {
    minute: parseField(minute, MINUTES), hour: parseField(hour, HOURS), dom: parseField(dom, DOM),
    month: parseField(month, MONTHS), dow: parseField(dow, DOW),
  };
}

function parseField(field: string, bounds: Bounds): FieldBits {
  let bits = 0n;
  let star = false;
  for (const expr of field.split(',')) {
    const range = parseRange(expr, bounds);
    bits |= range.bits;
    star ||= range.star;
  }
  return { bits, star };
}

/** robfig `getRange`: `*`, `?`, `N`, `N-M`, each with an optional `/step`; `N/step` means `N-max/step`. */
function parseRange(expr: string, bounds: Bounds): FieldBits {
  const rangeAndStep = expr.split('/');
  const lowAndHigh = rangeAndStep[0].split('-');
  let start: number;
  let end: number;
  let star = false;
  if (lowAndHigh[0] === '*' || lowAndHigh[0] === '?') {
    [start, end, star] = [bounds.min, bounds.max, true];
  } else {
    start = parseIntOrName(lowAndHigh[0], bounds);
    if (lowAndHigh.length === 1) end = start;
    else if (lowAndHigh.length === 2) end = parseIntOrName(lowAndHigh[1], bounds);
    else throw new Error(`too many hyphens: ${expr}`);
  }
  let step = 1;
  if (rangeAndStep.length === 2) {
    step = parseNonNegativeInt(rangeAndStep[1]);
    if (lowAndHigh.length === 1) end = bounds.max;
    if (step > 1) star = false;
  } else if (rangeAndStep.length > 2) {
    throw new Error(`too many slashes: ${expr}`);
  }
  if (start < bounds.min) throw new Error(`beginning of range (${start}) below minimum (${bounds.min}): ${expr}`);
  if (end > bounds.max) throw new Error(`end of range (${end}) above maximum (${bounds.max}): ${expr}`);
  if (start > end) throw new Error(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
  if (step === 0) throw new Error(`step of range should be a positive number: ${expr}`);
  let bits = 0n;
  for (let value = start; value <= end; value += step) bits |= 1n << BigInt(value);
  return { bits, star };
}

function parseIntOrName(expr: string, bounds: Bounds): number {
  const named = bounds.names?.[expr.toLowerCase()];
  return named ?? parseNonNegativeInt(expr);
}

function parseNonNegativeInt(expr: string): number {
  if (!/^[+-]?\d+$/.test(expr)) throw new Error(`failed to parse int from ${expr}`);
  const value = Number(expr);
  if (value < 0) throw new Error(`negative number (${value}) not allowed: ${expr}`);
  return value;
}

const has = (field: FieldBits, value: number): boolean => (field.bits & (1n << BigInt(value))) !== 0n;

/** robfig `dayMatches`: with a `*` in either day field both must match, otherwise either may. */
function dayMatches(schedule: CronSchedule, day: number, weekday: number): boolean {
  const domMatch = has(schedule.dom, day);
  const dowMatch = has(schedule.dow, weekday);
  return schedule.dom.star || schedule.dow.star ? domMatch && dowMatch : domMatch || dowMatch;
}

/**
 * robfig `SpecSchedule.Next`: the first activation strictly after `afterSeconds`, walked in `zone` field by field
 * (month, day, hour, minute, second), hours and smaller units in absolute time so a DST change is handled as there:
 * on a spring-forward day `30 2 * * *` does not fire, on a fall-back day it fires twice. Returns undefined where
 * robfig returns the zero time (nothing within five years).
 */
export function nextCronTime(schedule: CronSchedule, zone: string, afterSeconds: number): number | undefined {
  let t = Math.floor(afterSeconds) + 1; // "the upcoming second"
  let added = false;
  const yearLimit = wallClock(zone, t).year + 5;
  wrap: for (;;) {
    let w = wallClock(zone, t);
    if (w.year > yearLimit) return undefined;
    while (!has(schedule.month, w.month)) {
      if (!added) {
        added = true;
        t = zonedDate(zone, w.year, w.month, 1, 0, 0, 0);
      }
      t = addDate(zone, t, 0, 1, 0);
      w = wallClock(zone, t);
      if (w.month === 1) continue wrap;
    }
    while (!dayMatches(schedule, w.day, w.weekday)) {
      if (!added) {
        added = true;
        t = zonedDate(zone, w.year, w.month, w.day, 0, 0, 0);
      }
      t = addDate(zone, t, 0, 0, 1);
      w = wallClock(zone, t);
      // Where DST moved midnight, robfig nudges back to it.
      if (w.hour !== 0) {
        t += w.hour > 12 ? (24 - w.hour) * 3600 : -w.hour * 3600;
        w = wallClock(zone, t);
      }
      if (w.day === 1) continue wrap;
    }
    while (!has(schedule.hour, w.hour)) {
      if (!added) {
        added = true;
        t = zonedDate(zone, w.year, w.month, w.day, w.hour, 0, 0);
      }
      t += 3600;
      w = wallClock(zone, t);
      if (w.hour === 0) continue wrap;
    }
    while (!has(schedule.minute, w.minute)) {
      if (!added) {
        added = true;
        t -= t % 60; // Truncate(time.Minute) on absolute time
      }
      t += 60;
      w = wallClock(zone, t);
      if (w.minute === 0) continue wrap;
    }
    while (w.second !== 0) {
      if (!added) added = true; // Truncate(time.Second): already whole seconds
      t += 1;
      w = wallClock(zone, t);
      if (w.second === 0) continue wrap;
    }
    return t;
  }
}
