/**
 * The figures the scaling simulation rests on, each with where it comes from. None is measured on a GPU here (this
 * project has had no GPU node); change them here and the tables in docs/performance.md follow (`npm run bench:scaling`).
 */

export const SIMULATION_ASSUMPTIONS = {
  /**
   * Seconds of GPU per image: SDXL 1024x1024, 20 steps, on one A10G (g5.xlarge). Not measured here (README
   * "Performance": no GPU figures yet); an assumption from commonly reported A10G speeds of about 2.5-3 it/s for
   * SDXL at 1024x1024 plus VAE decode. Lognormal around this median.
   */
  serviceMedianSeconds: 8,
  serviceSigma: 0.35,
  /**
   * Pending pod -> ready on a NEW node (docs/scaling-design.md section 6, all cited or estimated, none measured):
   * EC2 launch ~1 s + node registered ~80 s (aws/karpenter-provider-aws#6128; GPU AMIs slower) + image pull ~180 s
   * for ~10 GB (AWS ML blog on SOCI: 15-20 GB in 4-6 min), overlapping the model sync (SDXL ~6.5 GiB, ~30 s) +
   * ComfyUI start and warmup ~45 s + ALB healthy 2 x 15 s (~22 s) = ~330 s before the cuts. With nodeadm's
   * FastImagePull (SOCI parallel pull, about -50 %: 112 s -> ~60 s for a 10.8 GB image, aws-samples/karpenter-blueprints
   * blueprints/soci-snapshotter) and the ALB checking every 5 s (2 x 5 s, ~7 s): ~225 s. KEDA's poll (<= 15 s) is
   * simulated. docs/scaling.md "Cold start" has the step-by-step budget.
   */
  coldStartMedianSeconds: 225,
  coldStartSigma: 0.25,
  /** A pod on a node still kept by Karpenter (image cached, models on the instance store): start + warmup + ALB (~7 s). */
  warmStartMedianSeconds: 55,
  warmStartSigma: 0.2,
  /** Karpenter keeps an empty GPU node this long (`gpuNodeConsolidateAfter`, 10m). */
  consolidateAfterSeconds: 600,
  /**
   * g5.xlarge on-demand, us-west-2, USD per hour: $1.006 (AWS EC2 On-Demand pricing page,
   * https://aws.amazon.com/ec2/pricing/on-demand/, list price as known in 2026; not re-checked from here: this
   * machine has no internet, and README "Costs" has no GPU price). Billed per second.
   */
  gpuPricePerHour: 1.006,
  gpuPriceSource: 'g5.xlarge on-demand us-west-2 $1.006/h (aws.amazon.com/ec2/pricing/on-demand, 2026 list price, not re-checked offline)',
  /** The HPA controller's sync period (kube-controller-manager default). */
  hpaSyncSeconds: 15,
  /** The wake page refreshes every 15 s; SQS keeps a wake message 60 s (its minimum retention). */
  wakeRefreshSeconds: 15,
  wakeRetentionSeconds: 60,
} as const;

export type SimulationAssumptions = { -readonly [K in keyof typeof SIMULATION_ASSUMPTIONS]: (typeof SIMULATION_ASSUMPTIONS)[K] };
