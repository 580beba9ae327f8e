import { describe, expect, test } from 'vitest';
import { nextCronTime, parseCronSchedule } from '../../lib/scaling/cron-schedule';
import { cronWindow } from '../../lib/scaling/cron-window';
import { wallClock, zonedDate } from '../../lib/scaling/zoned-clock';

const utc = (iso: string): number => Date.parse(`${iso}Z`) / 1000;
const iso = (seconds: number): string => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
const BERLIN = 'Europe/Berlin';
const weekdays = { timezone: BERLIN, start: '0 9 * * 1-5', end: '0 19 * * 1-5', desiredReplicas: 2 };

describe('cron schedules as robfig/cron v3 parses them for KEDA', () => {
  test('ranges, lists, steps and names (any case) parse; a 7 for Sunday and descriptors are refused', () => {
    expect(() => parseCronSchedule('*/15 9-17 1,15 JAN-mar sun')).not.toThrow();
    expect(() => parseCronSchedule('0 9 * * MON-FRI')).not.toThrow();
    expect(() => parseCronSchedule('0 9 * * 7')).toThrow('end of range (7) above maximum (6): 7');
    expect(() => parseCronSchedule('@daily')).toThrow('does not accept descriptors');
    expect(() => parseCronSchedule('0 9 * *')).toThrow('expected exactly 5 fields');
    expect(() => parseCronSchedule('0/0 9 * * *')).toThrow('step of range should be a positive number');
    expect(() => parseCronSchedule('0 17-9 * * *')).toThrow('beginning of range (17) beyond end of range (9)');
  });

  test('a step from a single value runs to the field maximum (5/20 = 5, 25, 45)', () => {
    const schedule = parseCronSchedule('5/20 * * * *');
    const first = nextCronTime(schedule, 'UTC', utc('2026-12-01T10:00:00'))!;
    const second = nextCronTime(schedule, 'UTC', first)!;
    const third = nextCronTime(schedule, 'UTC', second)!;
    expect([first, second, third].map(iso)).toEqual(['2026-12-01T10:05:00Z', '2026-12-01T10:25:00Z', '2026-12-01T10:45:00Z']);
  });

  test('day-of-month and day-of-week are OR-ed unless one is a star', () => {
    const either = parseCronSchedule('0 0 13 * fri'); // the 13th or any Friday
    expect(iso(nextCronTime(either, 'UTC', utc('2026-12-01T00:00:00'))!)).toBe('2026-12-04T00:00:00Z'); // Friday 4th
    const both = parseCronSchedule('0 0 * * fri');
    expect(iso(nextCronTime(both, 'UTC', utc('2026-12-05T00:00:00'))!)).toBe('2026-12-11T00:00:00Z');
  });

  test('next is strictly after the given time, at the whole second', () => {
    const nine = parseCronSchedule('0 9 * * *');
    expect(iso(nextCronTime(nine, 'UTC', utc('2026-12-01T09:00:00'))!)).toBe('2026-12-02T09:00:00Z');
    expect(iso(nextCronTime(nine, 'UTC', utc('2026-12-01T08:59:59') + 0.5)!)).toBe('2026-12-01T09:00:00Z');
  });

  test('09:00 in Berlin is 08:00 UTC before the spring-forward Sunday (29 March 2026) and 07:00 UTC after it', () => {
    const nine = parseCronSchedule('0 9 * * *');
    expect(iso(nextCronTime(nine, BERLIN, utc('2026-03-28T00:00:00'))!)).toBe('2026-03-28T08:00:00Z');
    expect(iso(nextCronTime(nine, BERLIN, utc('2026-03-28T12:00:00'))!)).toBe('2026-03-29T07:00:00Z');
  });

  test('02:30 does not exist on the spring-forward day, so a 02:30 schedule skips to Monday', () => {
    const half = parseCronSchedule('30 2 * * *');
    expect(iso(nextCronTime(half, BERLIN, utc('2026-03-28T12:00:00'))!)).toBe('2026-03-30T00:30:00Z');
  });

  test('02:30 happens twice on the fall-back day (25 October 2026), and robfig fires at both', () => {
    const half = parseCronSchedule('30 2 * * *');
    const first = nextCronTime(half, BERLIN, utc('2026-10-24T23:00:00'))!;
    expect(iso(first)).toBe('2026-10-25T00:30:00Z'); // 02:30 CEST
    expect(iso(nextCronTime(half, BERLIN, first)!)).toBe('2026-10-25T01:30:00Z'); // 02:30 CET
  });

  test('a wall time skipped by DST resolves as Go time.Date does (02:30 -> 03:30 CEST)', () => {
    const t = zonedDate(BERLIN, 2026, 3, 29, 2, 30, 0);
    expect(iso(t)).toBe('2026-03-29T01:30:00Z');
    expect(wallClock(BERLIN, t)).toMatchObject({ hour: 3, minute: 30 });
  });
});

describe("KEDA's cron trigger window", () => {
  test('is active from the start second up to, not including, the end second (Monday after DST: 07:00-17:00 UTC)', () => {
    expect(cronWindow(weekdays, utc('2026-03-30T06:59:59')).active).toBe(false);
    expect(cronWindow(weekdays, utc('2026-03-30T07:00:00'))).toMatchObject({ active: true, value: 2 });
    expect(cronWindow(weekdays, utc('2026-03-30T16:59:59')).active).toBe(true);
    expect(cronWindow(weekdays, utc('2026-03-30T17:00:00'))).toMatchObject({ active: false, value: 0 });
  });

  test('follows local time across the spring-forward weekend: 07:30 UTC is inside on Monday, outside on the Friday before', () => {
    expect(cronWindow(weekdays, utc('2026-03-27T07:30:00')).active).toBe(false); // 08:30 CET
    expect(cronWindow(weekdays, utc('2026-03-30T07:30:00')).active).toBe(true); // 09:30 CEST
  });

  test('is off on weekends', () => {
    expect(cronWindow(weekdays, utc('2026-03-28T10:00:00')).active).toBe(false);
  });

  test('is active whenever the next end comes before the next start, even with no start that day', () => {
    const dailyEnd = { ...weekdays, end: '0 19 * * *' };
    expect(cronWindow(dailyEnd, utc('2026-03-28T09:00:00')).active).toBe(true); // Saturday 10:00 CET
  });

  test('a window over midnight works (22:00-06:00)', () => {
    const night = { timezone: 'UTC', start: '0 22 * * *', end: '0 6 * * *', desiredReplicas: 1 };
    expect(cronWindow(night, utc('2026-12-01T23:00:00')).active).toBe(true);
    expect(cronWindow(night, utc('2026-12-01T05:59:59')).active).toBe(true);
    expect(cronWindow(night, utc('2026-12-01T12:00:00')).active).toBe(false);
  });

  test('says until when its answer holds (the earlier of next start and next end)', () => {
    expect(iso(cronWindow(weekdays, utc('2026-03-30T10:00:00')).validUntil)).toBe('2026-03-30T17:00:00Z');
  });

  test('refuses what KEDA refuses: equal start and end, zero replicas, an unknown zone', () => {
    expect(() => cronWindow({ ...weekdays, end: weekdays.start }, 0)).toThrow('can not have exactly same time');
    expect(() => cronWindow({ ...weekdays, desiredReplicas: 0 }, 0)).toThrow('no desiredReplicas');
    expect(() => cronWindow({ ...weekdays, timezone: 'Mars/Olympus' }, 0)).toThrow('unknown time zone');
  });
});
