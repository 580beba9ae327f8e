/**
 * A discrete simulation of one day of GPU pods under a scaling policy, stepped every second. The controllers are
 * the functions KEDA and the HPA are modelled by (keda-step.ts, hpa-step.ts, cron-window.ts): KEDA polls every
 * `pollingInterval`, the HPA syncs every 15 s after it. One ComfyUI pod per GPU node (g5.xlarge, G = 1); a new pod
 * lands on an empty node Karpenter still keeps (warm start) or on a new one (cold start); an empty node goes after
 * `consolidateAfterSeconds`. Billing is per node from launch to removal, so boot and the consolidation tail count.
 *
 * Simplifications, stated: one FIFO queue in front of all GPUs (the runner and the multi-GPU pods route to idle
 * GPUs; interactive prompts queued on a busy pod would wait a little longer); an interactive prompt made while no
 * pod is ready waits on the wake page (one wake message at once and one per refresh) and is sent when a pod is
 * ready; scale-in takes starting pods first, then idle ones, and a busy pod finishes its prompt before it goes
 * (preStop drain); no spot interruptions, no trigger errors.
 */
import type { ScalingConfig } from '../config-scaling';
import { CronWindow, cronWindow } from './cron-window';
import type { HpaMetric } from './hpa-desired';
import { EMPTY_HPA_STATE, HpaState, hpaStep } from './hpa-step';
import { KedaState, kedaStep } from './keda-step';
import { scalerResult } from './read-with-fallback';
import { scaledObjectSpec } from './scaled-object-spec';
import { lognormal, seededRandom } from './seeded-random';
import type { SimulationAssumptions } from './simulation-assumptions';
import type { Arrival } from './studio-day';

export type ScalingPolicy = { readonly kind: 'fixed'; readonly replicas: number } | { readonly kind: 'autoscaling'; readonly config: ScalingConfig };

export interface SimulationOptions {
  readonly policy: ScalingPolicy;
  readonly arrivals: readonly Arrival[];
  /** Local midnight; the day is simulated for 24 h and on until the last prompt has started. */
  readonly dayStart: number;
  readonly seed: number;
  readonly assumptions: SimulationAssumptions;
}

export interface SimulationResult {
  readonly nodeSeconds: number;
  readonly images: number;
  /** Submit -> execution start, seconds, sorted ascending. */
  readonly waits: readonly number[];
  readonly interactiveWaits: readonly number[];
  readonly coldStarts: number;
  readonly warmStarts: number;
  readonly peakPods: number;
  /** Every change of the Deployment's spec.replicas: [time, replicas]. */
  readonly replicaChanges: ReadonlyArray<readonly [number, number]>;
  readonly end: number;
}

interface Node {
  readonly launchedAt: number;
  emptySince?: number;
  removedAt?: number;
  hasPod: boolean;
}

interface Pod {
  readonly node: Node;
  readonly readyAt: number;
  busyUntil: number;
  running?: Arrival;
  draining: boolean;
}

const DAY = 86_400;
const MAX_DAYS = 3;

export function simulateDay(options: SimulationOptions): SimulationResult {
  const { policy, arrivals, dayStart, assumptions: a } = options;
  const random = seededRandom(options.seed ^ 0x5eed);
  const nodes: Node[] = [];
  let pods: Pod[] = [];
  const queue: Arrival[] = [];
  const waits: number[] = [];
  const interactiveWaits: number[] = [];
  const wakeMessages: number[] = [];
  const lastPromptOf = new Map<number, number>();
  let coldStarts = 0;
  let warmStarts = 0;
  let peakPods = 0;
  let next = 0;
  let started = 0;
  const replicaChanges: Array<[number, number]> = [];

  const autoscaling = policy.kind === 'autoscaling' ? scaledObjectSpec(policy.config, 1) : undefined;
  const sessionSeconds = policy.kind === 'autoscaling' ? policy.config.sessionActivityMinutes * 60 : 0;
  let desired = policy.kind === 'fixed' ? policy.replicas : 0;
  let keda: KedaState = { replicas: desired, createdAt: dayStart - DAY, failures: {} };
  let hpa: HpaState = EMPTY_HPA_STATE;
  let warm: CronWindow | undefined;

  const addPod = (t: number, alreadyRunning: boolean): void => {
    const spare = nodes.find((node) => node.removedAt === undefined && !node.hasPod);
    let node: Node;
    let readyAt: number;
    if (alreadyRunning) {
      node = { launchedAt: t, hasPod: true };
      nodes.push(node);
      readyAt = t;
    } else if (spare) {
      node = spare;
      node.hasPod = true;
      node.emptySince = undefined;
      readyAt = t + lognormal(random, a.warmStartMedianSeconds, a.warmStartSigma);
      warmStarts += 1;
    } else {
      node = { launchedAt: t, hasPod: true };
      nodes.push(node);
      readyAt = t + lognormal(random, a.coldStartMedianSeconds, a.coldStartSigma);
      coldStarts += 1;
    }
    pods.push({ node, readyAt, busyUntil: readyAt, draining: false });
  };
  const removePod = (pod: Pod, t: number): void => {
    pod.node.hasPod = false;
    pod.node.emptySince = t;
    pods = pods.filter((p) => p !== pod);
  };

  for (let i = 0; i < desired; i += 1) addPod(dayStart, true);

  let t = dayStart;
  for (; t < dayStart + MAX_DAYS * DAY; t += 1) {
    // Arrivals: interactive prompts wait on the wake page while no pod is ready.
    const anyReady = pods.some((pod) => pod.readyAt <= t && !pod.draining);
    while (next < arrivals.length && arrivals[next].at <= t) {
      const arrival = arrivals[next++];
      queue.push(arrival);
      if (arrival.artist !== undefined) lastPromptOf.set(arrival.artist, arrival.at);
      if (arrival.kind === 'interactive' && !anyReady) wakeMessages.push(t);
    }
    if (!anyReady && (t - dayStart) % a.wakeRefreshSeconds === 0) {
      const waitingArtists = new Set(queue.filter((q) => q.kind === 'interactive').map((q) => q.artist));
      for (let i = 0; i < waitingArtists.size; i += 1) wakeMessages.push(t);
    }

    // Work: each ready GPU takes the head of the queue when free.
    for (const pod of pods) {
      if (pod.readyAt > t) continue;
      if (pod.running && pod.busyUntil <= t) pod.running = undefined;
      while (!pod.draining && !pod.running && queue.length > 0) {
        const job = queue[0];
        const start = Math.max(pod.busyUntil, pod.readyAt, job.at);
        if (start > t) break;
        queue.shift();
        waits.push(start - job.at);
        if (job.kind === 'interactive') interactiveWaits.push(start - job.at);
        pod.busyUntil = start + job.serviceSeconds;
        pod.running = pod.busyUntil <= t ? undefined : job;
        started += 1;
      }
    }
    for (const pod of pods.filter((p) => p.draining && !p.running)) removePod(pod, Math.max(t, pod.busyUntil));

    // Controllers.
    if (autoscaling && (t - dayStart) % a.hpaSyncSeconds === 0) {
      const ready = pods.filter((pod) => pod.readyAt <= t && !pod.draining);
      const running = pods.filter((pod) => pod.running).map((pod) => pod.running!);
      const jobsVisible = queue.filter((q) => q.kind === 'job').length;
      const jobsInFlight = running.filter((r) => r.kind === 'job').length;
      const onPods = ready.length > 0 ? running.length + queue.filter((q) => q.kind === 'interactive').length : 0;
      const sessions = ready.length > 0 && [...lastPromptOf.values()].some((last) => t - last < sessionSeconds);
      const work = jobsVisible + onPods;
      const interactive = work + (sessions && work === 0 ? 1 : 0);
      while (wakeMessages.length > 0 && wakeMessages[0] <= t - a.wakeRetentionSeconds) wakeMessages.shift();
      if (autoscaling.warm && (!warm || t >= warm.validUntil)) warm = cronWindow(autoscaling.warm, t);
      const values = [
        { name: 'jobs', value: jobsVisible + jobsInFlight, ...autoscaling.triggers.jobs },
        { name: 'wake', value: wakeMessages.length, ...autoscaling.triggers.wake },
        { name: 'interactive', value: interactive, ...autoscaling.triggers.interactive },
        ...(autoscaling.warm ? [{ name: 'warm', value: warm!.value, target: 1, activation: 0 }] : []),
      ];
      if ((t - dayStart) % autoscaling.pollingIntervalSeconds === 0) {
        const reads = values.map((v) => ({ name: v.name, target: v.target, result: scalerResult(v.value, v.activation) }));
        keda = kedaStep(autoscaling.keda, { ...keda, replicas: desired }, reads, t).state;
        desired = keda.replicas;
      }
      const metrics: HpaMetric[] = values.map((v) => ({ value: v.value, target: v.target }));
      const step = hpaStep(autoscaling.hpa, hpa, desired, pods.filter((p) => !p.draining).length, metrics, t);
      hpa = step.state;
      desired = step.replicas;
    }

    if (replicaChanges.length === 0 || replicaChanges[replicaChanges.length - 1][1] !== desired) replicaChanges.push([t, desired]);
    // The ReplicaSet follows spec.replicas; scale-in takes starting, then idle, then busy pods.
    const live = pods.filter((pod) => !pod.draining);
    for (let i = live.length; i < desired; i += 1) addPod(t, false);
    if (live.length > desired) {
      const rank = (pod: Pod): number => (pod.readyAt > t ? 0 : pod.running ? 2 : 1);
      const victims = [...live].sort((x, y) => rank(x) - rank(y)).slice(0, live.length - desired);
      for (const pod of victims) {
        if (pod.running) pod.draining = true;
        else removePod(pod, t);
      }
    }
    peakPods = Math.max(peakPods, pods.length);

    // Karpenter removes a node empty for consolidateAfter.
    for (const node of nodes) {
      if (node.removedAt === undefined && !node.hasPod && node.emptySince !== undefined && t - node.emptySince >= a.consolidateAfterSeconds) {
        node.removedAt = t;
      }
    }
    const done = started === arrivals.length && pods.every((pod) => !pod.running);
    if (t >= dayStart + DAY && done && (policy.kind === 'fixed' || nodes.every((node) => node.removedAt !== undefined))) break;
  }
  const nodeSeconds = nodes.reduce((sum, node) => sum + ((node.removedAt ?? t) - node.launchedAt), 0);
  const sort = (values: number[]) => values.sort((x, y) => x - y);
  return {
    nodeSeconds, images: started, waits: sort(waits), interactiveWaits: sort(interactiveWaits), coldStarts, warmStarts, peakPods, replicaChanges, end: t,
  };
}
