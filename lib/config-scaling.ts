/**
 * The scaling keys of the typed config (issue 17, docs/scaling.md): how ComfyUI pods follow demand between 0 and
 * `maxComfyuiReplicas` through KEDA. Parsed here so lib/config.ts stays a list of keys.
 */
import { ConfigError, parseBoolean, parseInteger, parseString } from './config-values';

export const SCALING_KEYS = [
  'autoscaling', 'maxComfyuiReplicas', 'scaleToZeroAfterMinutes', 'scalingPollingSeconds',
  'scaleDownStabilizationMinutes', 'queuedPromptsPerGpu', 'sessionActivityMinutes', 'coldStartEstimateMinutes',
  'warmScheduleTimezone', 'warmScheduleStart', 'warmScheduleEnd', 'warmReplicas',
] as const;
export type ScalingKey = (typeof SCALING_KEYS)[number];

/** Keep N pods between two cron times, e.g. weekdays 09:00-19:00 in Europe/Berlin (KEDA's cron scaler). */
export interface WarmSchedule {
  /** IANA time zone the cron times are read in, e.g. Europe/Berlin. */
  readonly timezone: string;
  /** 5-field cron when the warm period starts, e.g. `0 9 * * 1-5`. */
  readonly start: string;
  /** 5-field cron when it ends, e.g. `0 19 * * 1-5`. */
  readonly end: string;
  /** ComfyUI pods kept during the period. */
  readonly replicas: number;
}

export interface ScalingConfig {
  /**
   * Let KEDA move the ComfyUI pods between 0 and maxComfyuiReplicas on queued jobs, interactive use, visits to the
   * wake page and the warm schedule; false keeps comfyuiReplicas fixed. Needs jobs=true: the job runner reports the
   * interactive demand. @default true when jobs is true
   */
  readonly autoscaling: boolean;
  /** Most ComfyUI pods (so GPU nodes) autoscaling starts. @default 4 */
  readonly maxComfyuiReplicas: number;
  /** Minutes without any demand before the last pod goes (KEDA's cooldownPeriod). @default 15 */
  readonly scaleToZeroAfterMinutes: number;
  /** Seconds between KEDA's reads of the triggers: the longest a visit or job waits to be seen. @default 15 */
  readonly scalingPollingSeconds: number;
  /** Minutes the HPA keeps its highest recent recommendation before removing a pod (at most 60). @default 10 */
  readonly scaleDownStabilizationMinutes: number;
  /** Prompts (queued jobs or prompts waiting and running on the pods) per GPU before another pod is added. @default 1 */
  readonly queuedPromptsPerGpu: number;
  /** Minutes a browser session's last connect or prompt counts as demand: idle open tabs let GPUs go. @default 5 */
  readonly sessionActivityMinutes: number;
  /** The wait the wake page announces while GPUs start from zero (the measured cold start, README). @default 6 */
  readonly coldStartEstimateMinutes: number;
  /** Pods kept warm on a schedule; from warmScheduleTimezone/Start/End and warmReplicas. @default none */
  readonly warmSchedule?: WarmSchedule;
}

/** KEDA's CRD caps stabilizationWindowSeconds at 3600 (its config/crd kustomization patch). */
const STABILIZATION_MINUTES_RANGE = [0, 60] as const;

export function parseScalingKeys(get: (key: ScalingKey) => unknown, jobs: boolean): ScalingConfig {
  const config: ScalingConfig = {
    autoscaling: parseBoolean('autoscaling', get('autoscaling') ?? jobs),
    maxComfyuiReplicas: parseInteger('maxComfyuiReplicas', get('maxComfyuiReplicas') ?? 4, 1, 50),
    scaleToZeroAfterMinutes: parseInteger('scaleToZeroAfterMinutes', get('scaleToZeroAfterMinutes') ?? 15, 1, 1440),
    scalingPollingSeconds: parseInteger('scalingPollingSeconds', get('scalingPollingSeconds') ?? 15, 5, 300),
    scaleDownStabilizationMinutes: parseInteger(
      'scaleDownStabilizationMinutes', get('scaleDownStabilizationMinutes') ?? 10, ...STABILIZATION_MINUTES_RANGE,
    ),
    queuedPromptsPerGpu: parseInteger('queuedPromptsPerGpu', get('queuedPromptsPerGpu') ?? 1, 1, 100),
    sessionActivityMinutes: parseInteger('sessionActivityMinutes', get('sessionActivityMinutes') ?? 5, 1, 240),
    coldStartEstimateMinutes: parseInteger('coldStartEstimateMinutes', get('coldStartEstimateMinutes') ?? 6, 1, 60),
    warmSchedule: parseWarmSchedule(get),
  };
  if (config.warmSchedule && config.warmSchedule.replicas > config.maxComfyuiReplicas) {
    throw new ConfigError('warmReplicas', `must not exceed maxComfyuiReplicas (${config.maxComfyuiReplicas}), got ${config.warmSchedule.replicas}`);
  }
  return config;
}

/**
 * Autoscaling replaces the fixed count and reads the job runner; the fixed count means nothing while KEDA owns
 * replicas, and the scaling keys mean nothing without autoscaling.
 */
export function validateScalingCombinations(
  config: ScalingConfig & { jobs: boolean; maxGpus: number; jobRunnerReplicas: number },
  given: (key: ScalingKey | 'comfyuiReplicas') => boolean,
): void {
  if (config.autoscaling) {
    if (given('comfyuiReplicas')) {
      throw new ConfigError('comfyuiReplicas', 'is the fixed pod count used when autoscaling is false; with autoscaling set maxComfyuiReplicas instead');
    }
    if (!config.jobs) {
      throw new ConfigError('autoscaling', 'needs jobs=true: the job runner reports the interactive demand KEDA scales on; set autoscaling=false or jobs=true');
    }
    if (config.jobRunnerReplicas === 0) {
      throw new ConfigError('jobRunnerReplicas', '0 leaves KEDA without the interactive demand: its trigger errors, and KEDA then keeps one pod (and its GPU node) forever; keep at least 1 with autoscaling, or set autoscaling=false');
    }
    if (config.maxComfyuiReplicas > config.maxGpus) {
      throw new ConfigError('maxComfyuiReplicas', `must not exceed maxGpus (${config.maxGpus}): Karpenter would not start nodes for the rest; got ${config.maxComfyuiReplicas}`);
    }
    return;
  }
  const unused = SCALING_KEYS.find((key) => key !== 'autoscaling' && given(key));
  if (unused) throw new ConfigError(unused, 'is only used when autoscaling is true (autoscaling is false)');
}

function parseWarmSchedule(get: (key: ScalingKey) => unknown): WarmSchedule | undefined {
  const parts = (['warmScheduleTimezone', 'warmScheduleStart', 'warmScheduleEnd'] as const).map((key) => [key, get(key)] as const);
  const present = parts.filter(([, value]) => value !== undefined && value !== '');
  if (present.length === 0) {
    if (get('warmReplicas') !== undefined) throw new ConfigError('warmReplicas', 'needs warmScheduleTimezone, warmScheduleStart and warmScheduleEnd');
    return undefined;
  }
  const missing = parts.find(([key]) => !present.some(([k]) => k === key));
  if (missing) {
    throw new ConfigError(missing[0], 'a warm schedule needs all of warmScheduleTimezone, warmScheduleStart and warmScheduleEnd');
  }
  const start = parseCron('warmScheduleStart', get('warmScheduleStart'));
  const end = parseCron('warmScheduleEnd', get('warmScheduleEnd'));
  if (start === end) throw new ConfigError('warmScheduleEnd', `must differ from warmScheduleStart ('${start}'): the period would be empty`);
  return {
    timezone: parseTimezone(get('warmScheduleTimezone')),
    start,
    end,
    replicas: parseInteger('warmReplicas', get('warmReplicas') ?? 1, 1, 50),
  };
}

/** IANA zone names as the JavaScript runtime knows them (KEDA's Go runtime loads the same tz database). */
function parseTimezone(value: unknown): string {
  const zone = parseString('warmScheduleTimezone', value);
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
  } catch {
    throw new ConfigError('warmScheduleTimezone', `expected an IANA time zone such as Europe/Berlin or America/Los_Angeles, got '${zone}'`);
  }
  return zone;
}

/**
 * Five fields (minute hour day-of-month month day-of-week), as KEDA's cron scaler parses them with robfig/cron's
 * standard parser (https://keda.sh/docs/2.20/scalers/cron/); names such as MON-FRI are allowed there too.
 */
const CRON_FIELD = /^[0-9A-Za-z*?,/-]+$/;

function parseCron(key: ScalingKey, value: unknown): string {
  const text = parseString(key, value).replace(/\s+/g, ' ');
  const fields = text.split(' ');
  if (fields.length !== 5 || !fields.every((field) => CRON_FIELD.test(field))) {
    throw new ConfigError(key, `expected a 5-field cron (minute hour day month weekday) such as '0 9 * * 1-5', got '${text}'`);
  }
  return text;
}
