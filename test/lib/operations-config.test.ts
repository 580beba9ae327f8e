import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../../lib/config';

const fromContext = (values: Record<string, unknown>) => (key: string) => values[key];

describe('operations config keys', () => {
  test('default to a dashboard and alarms with no email, a one-node-day budget and a 60-minute job age', () => {
    const config = loadConfig(fromContext({}));
    expect(config).toMatchObject({
      operations: true,
      gpuNodeHoursDailyBudget: 24,
      jobAgeAlarmMinutes: 60,
      cloudFrontAdditionalMetrics: false,
    });
    expect(config.alarmEmail).toBeUndefined();
  });

  test('take -c strings: the email as given, numbers and booleans parsed', () => {
    const config = loadConfig(fromContext({
      alarmEmail: ' ops@example.com ', gpuNodeHoursDailyBudget: '96', jobAgeAlarmMinutes: '240', cloudFrontAdditionalMetrics: 'true',
    }));
    expect(config).toMatchObject({
      alarmEmail: 'ops@example.com', gpuNodeHoursDailyBudget: 96, jobAgeAlarmMinutes: 240, cloudFrontAdditionalMetrics: true,
    });
  });

  test.each([
    [{ alarmEmail: 'ops.example.com' }, "Invalid config 'alarmEmail': expected an email address"],
    [{ alarmEmail: 'ops @example.com' }, "Invalid config 'alarmEmail'"],
    [{ gpuNodeHoursDailyBudget: 0 }, "Invalid config 'gpuNodeHoursDailyBudget': expected an integer from 1 to 24000, got 0"],
    [{ gpuNodeHoursDailyBudget: '1.5' }, "Invalid config 'gpuNodeHoursDailyBudget'"],
    [{ jobAgeAlarmMinutes: 4 }, "Invalid config 'jobAgeAlarmMinutes': expected an integer from 5 to 20160, got 4"],
    [{ jobAgeAlarmMinutes: 20_161 }, "Invalid config 'jobAgeAlarmMinutes'"],
    [{ operations: 'yes' }, "Invalid config 'operations': expected true or false"],
    [{ operations: false, alarmEmail: 'ops@example.com' }, "Invalid config 'alarmEmail': is only used when operations is true"],
    [{ operations: 'false', gpuNodeHoursDailyBudget: 48 }, "Invalid config 'gpuNodeHoursDailyBudget': is only used when operations is true"],
    [
      { cloudFront: false, albExposure: 'vpc', jobs: false, cloudFrontAdditionalMetrics: true },
      "Invalid config 'cloudFrontAdditionalMetrics': are metrics of the CloudFront distribution; they need cloudFront=true",
    ],
  ])('refuses %j, naming the key', (context, message) => {
    expect(() => loadConfig(fromContext(context))).toThrow(ConfigError);
    expect(() => loadConfig(fromContext(context))).toThrow(message);
  });

  test('accepts operations off on its own, and an empty alarmEmail as none', () => {
    expect(loadConfig(fromContext({ operations: false })).operations).toBe(false);
    expect(loadConfig(fromContext({ alarmEmail: '' })).alarmEmail).toBeUndefined();
  });
});
