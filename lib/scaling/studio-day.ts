/**
 * A recorded-style arrival trace for one weekday of a studio (docs/scaling-design.md section 8), seeded: 12 artists
 * ramp up from 08:30 to 1.5 prompts per minute each at 10:30, dip to 20 % over lunch (12:00-13:00), work steadily
 * from 13:00 to 18:30 with bursts (one event in ten is a batch of 4-8 prompts), then an evening batch of 300
 * template jobs at 19:00 through the jobs API; nothing overnight. Times are seconds since the Unix epoch.
 */
import { exponential, integerBetween, lognormal, Random, seededRandom } from './seeded-random';

export interface Arrival {
  readonly at: number;
  readonly kind: 'interactive' | 'job';
  /** The artist, for interactive prompts (their browser session). */
  readonly artist?: number;
  /** GPU seconds this image takes, drawn with the trace so every policy serves the same work. */
  readonly serviceSeconds: number;
}

export interface StudioDayOptions {
  readonly seed: number;
  /** Local midnight of the simulated day. */
  readonly dayStart: number;
  readonly artists?: number;
  readonly peakPromptsPerMinute?: number;
  readonly eveningJobs?: number;
  readonly serviceMedianSeconds: number;
  readonly serviceSigma: number;
}

const HOUR = 3600;
const at = (hours: number, minutes = 0): number => hours * HOUR + minutes * 60;

/** Prompt events per minute per artist at a time of day (seconds after midnight), as a share of the peak. */
export function artistActivity(timeOfDay: number): number {
  if (timeOfDay < at(8, 30)) return 0;
  if (timeOfDay < at(10, 30)) return (timeOfDay - at(8, 30)) / (at(10, 30) - at(8, 30));
  if (timeOfDay < at(12)) return 1;
  if (timeOfDay < at(13)) return 0.2;
  if (timeOfDay < at(18, 30)) return 2 / 3;
  return 0;
}

const isAfternoon = (timeOfDay: number): boolean => timeOfDay >= at(13) && timeOfDay < at(18, 30);

export function studioDay(options: StudioDayOptions): Arrival[] {
  const random = seededRandom(options.seed);
  const artists = options.artists ?? 12;
  const peakPerSecond = (options.peakPromptsPerMinute ?? 1.5) / 60;
  const service = (r: Random) => lognormal(r, options.serviceMedianSeconds, options.serviceSigma);
  const arrivals: Arrival[] = [];
  for (let artist = 0; artist < artists; artist += 1) {
    // Thinning (Lewis-Shedler): candidates at the peak rate, kept with probability activity(t).
    for (let t = exponential(random, peakPerSecond); t < 24 * HOUR; t += exponential(random, peakPerSecond)) {
      if (random() >= artistActivity(t)) continue;
      const batch = isAfternoon(t) && random() < 0.1 ? integerBetween(random, 4, 8) : 1;
      for (let i = 0; i < batch; i += 1) {
        arrivals.push({ at: options.dayStart + t, kind: 'interactive', artist, serviceSeconds: service(random) });
      }
    }
  }
  for (let i = 0; i < (options.eveningJobs ?? 300); i += 1) {
    arrivals.push({ at: options.dayStart + at(19), kind: 'job', serviceSeconds: service(random) });
  }
  return arrivals.sort((a, b) => a.at - b.at);
}
