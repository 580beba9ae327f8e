/**
 * Wall-clock arithmetic in an IANA time zone with the semantics of Go's `time` package, which KEDA's cron scaler
 * and robfig/cron use (`time.Date`, `t.AddDate`, `t.Add`). Times are whole seconds since the Unix epoch.
 */

/** A wall-clock reading: month 1-12, weekday 0 (Sunday) - 6, as Go's `t.Month()` / `t.Weekday()`. */
export interface WallClock {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(zone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    formatters.set(zone, formatter);
  }
  return formatter;
}

/** The wall clock in `zone` at `epochSeconds` (Go: `t.In(loc)` and its field accessors). */
export function wallClock(zone: string, epochSeconds: number): WallClock {
  const parts: Record<string, number> = {};
  for (const part of formatterFor(zone).formatToParts(new Date(epochSeconds * 1000))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const { year, month, day, hour, minute, second } = parts;
  return { year, month, day, hour, minute, second, weekday: new Date(Date.UTC(year, month - 1, day)).getUTCDay() };
}

/** Seconds east of UTC in `zone` at `epochSeconds`. */
export function zoneOffsetSeconds(zone: string, epochSeconds: number): number {
  const w = wallClock(zone, epochSeconds);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) / 1000 - epochSeconds;
}

/**
 * Go's `time.Date(year, month, day, hour, min, sec, 0, loc)`: out-of-range fields normalize (month 13 is January
 * next year), and a wall time that does not exist or exists twice around a DST change resolves as Go does
 * (go/src/time/time.go `Date`: take the offset in force at the wall time read as UTC; if the resulting instant lies
 * in another zone period, take that period's offset). Spring forward in Europe/Berlin: 02:30 becomes 03:30 CEST.
 */
export function zonedDate(zone: string, year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  const unix = Date.UTC(year, month - 1, day, hour, minute, second) / 1000;
  const guess = zoneOffsetSeconds(zone, unix);
  if (guess === 0) return unix;
  return unix - zoneOffsetSeconds(zone, unix - guess);
}

/** Go's `t.AddDate(years, months, days)` in `zone`: the wall clock moved, then `time.Date`. */
export function addDate(zone: string, epochSeconds: number, years: number, months: number, days: number): number {
  const w = wallClock(zone, epochSeconds);
  return zonedDate(zone, w.year + years, w.month + months, w.day + days, w.hour, w.minute, w.second);
}

/** Throws unless the runtime knows `zone` (KEDA's `time.LoadLocation` errors the same way). */
export function assertTimeZone(zone: string): void {
  try {
    formatterFor(zone);
  } catch {
    throw new Error(`unable to load timezone: unknown time zone '${zone}'; use an IANA name such as Europe/Berlin`);
  }
}
