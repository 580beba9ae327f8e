import { describe, expect, test } from 'vitest';
import { loadConfig } from '../../lib/config';

const fromContext = (values: Record<string, unknown>) => (key: string) => values[key];

describe('scaling config keys', () => {
  test('default to autoscaling between 0 and 4 pods, 15 idle minutes to zero, a 15 s poll and no warm schedule', () => {
    const config = loadConfig(fromContext({}));
    expect(config).toMatchObject({
      autoscaling: true,
      maxComfyuiReplicas: 4,
      scaleToZeroAfterMinutes: 15,
      scalingPollingSeconds: 15,
      scaleDownStabilizationMinutes: 10,
      queuedPromptsPerGpu: 1,
      sessionActivityMinutes: 5,
      coldStartEstimateMinutes: 6,
    });
    expect(config.warmSchedule).toBeUndefined();
  });

  test('autoscaling defaults to off without jobs, whose runner reports the interactive demand', () => {
    expect(loadConfig(fromContext({ jobs: false })).autoscaling).toBe(false);
  });

  test('a warm schedule takes -c strings and normalises the cron spacing', () => {
    const config = loadConfig(fromContext({
      warmScheduleTimezone: 'Europe/Berlin', warmScheduleStart: '0  9 * * 1-5', warmScheduleEnd: '0 19 * * MON-FRI', warmReplicas: '2',
    }));
    expect(config.warmSchedule).toEqual({ timezone: 'Europe/Berlin', start: '0 9 * * 1-5', end: '0 19 * * MON-FRI', replicas: 2 });
  });

  test('fixed replicas are still a choice with autoscaling off', () => {
    const config = loadConfig(fromContext({ autoscaling: 'false', comfyuiReplicas: 3 }));
    expect([config.autoscaling, config.comfyuiReplicas]).toEqual([false, 3]);
  });

  test.each([
    [{ comfyuiReplicas: 2 }, "Invalid config 'comfyuiReplicas': is the fixed pod count used when autoscaling is false; with autoscaling set maxComfyuiReplicas instead"],
    [{ jobs: false, autoscaling: true }, "Invalid config 'autoscaling': needs jobs=true"],
    [{ jobRunnerReplicas: 0 }, "Invalid config 'jobRunnerReplicas': 0 leaves KEDA without the interactive demand"],
    [{ maxComfyuiReplicas: 9 }, "Invalid config 'maxComfyuiReplicas': must not exceed maxGpus (8)"],
    [{ maxComfyuiReplicas: 0 }, "Invalid config 'maxComfyuiReplicas': expected an integer from 1 to 50, got 0"],
    [{ scaleDownStabilizationMinutes: 61 }, "Invalid config 'scaleDownStabilizationMinutes': expected an integer from 0 to 60"],
    [{ scalingPollingSeconds: 1 }, "Invalid config 'scalingPollingSeconds': expected an integer from 5 to 300"],
    [{ autoscaling: false, maxComfyuiReplicas: 2 }, "Invalid config 'maxComfyuiReplicas': is only used when autoscaling is true"],
    [{ warmScheduleStart: '0 9 * * 1-5' }, "Invalid config 'warmScheduleTimezone': a warm schedule needs all of"],
    [{ warmReplicas: 2 }, "Invalid config 'warmReplicas': needs warmScheduleTimezone, warmScheduleStart and warmScheduleEnd"],
    [
      { warmScheduleTimezone: 'Mars/Olympus', warmScheduleStart: '0 9 * * *', warmScheduleEnd: '0 19 * * *' },
      "Invalid config 'warmScheduleTimezone': expected an IANA time zone such as Europe/Berlin",
    ],
    [
      { warmScheduleTimezone: 'UTC', warmScheduleStart: '0 9 * *', warmScheduleEnd: '0 19 * * *' },
      "Invalid config 'warmScheduleStart': expected a 5-field cron (minute hour day month weekday) such as '0 9 * * 1-5', got '0 9 * *'",
    ],
    [
      { warmScheduleTimezone: 'UTC', warmScheduleStart: '0 9 * * *', warmScheduleEnd: '0 9 * * *' },
      "Invalid config 'warmScheduleEnd': must differ from warmScheduleStart",
    ],
    [
      { warmScheduleTimezone: 'UTC', warmScheduleStart: '0 9 * * *', warmScheduleEnd: '0 19 * * *', warmReplicas: 5 },
      "Invalid config 'warmReplicas': must not exceed maxComfyuiReplicas (4), got 5",
    ],
  ])('%j is refused: %s', (values, message) => {
    expect(() => loadConfig(fromContext(values))).toThrow(message);
  });
});
