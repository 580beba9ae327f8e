/**
 * Prints the scaling tables of docs/performance.md: one seeded weekday under fixed replicas, our autoscaling defaults and
 * autoscaling with a weekday warm schedule, for the design's 12-artist studio and for a small team, plus an idle
 * day. The controllers are the KEDA/HPA decision functions of lib/scaling; the figures it rests on (GPU seconds
 * per image, cold start, price) are in lib/scaling/simulation-assumptions.ts with their sources.
 *
 *   npx tsx scripts/bench/scaling_simulation.ts [--seed N]
 */
import { compareScalingPolicies, DEFAULT_SEED, formatComparison, SMALL_TEAM, STUDIO_DAY, STUDIO_TEAM, STUDIO_TIMEZONE } from '../../lib/scaling/compare-scaling-policies';
import { SIMULATION_ASSUMPTIONS as A } from '../../lib/scaling/simulation-assumptions';

function seedFromArgs(argv: readonly string[]): number {
  const index = argv.indexOf('--seed');
  if (index < 0) return DEFAULT_SEED;
  const seed = Number(argv[index + 1]);
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed must be a non-negative integer, got '${argv[index + 1]}'`);
  return seed;
}

function main(): void {
  const seed = seedFromArgs(process.argv.slice(2));
  const day = `${STUDIO_DAY.year}-${String(STUDIO_DAY.month).padStart(2, '0')}-${String(STUDIO_DAY.day).padStart(2, '0')}`;
  console.log(`Seed ${seed}, a weekday (${day}, ${STUDIO_TIMEZONE}); GPU ${A.serviceMedianSeconds} s per image (median, lognormal sigma ${A.serviceSigma}); `
    + `cold start ${A.coldStartMedianSeconds} s median on a new node, ${A.warmStartMedianSeconds} s on a kept one (kept ${A.consolidateAfterSeconds / 60} min); ${A.gpuPriceSource}.`);
  for (const team of [STUDIO_TEAM, SMALL_TEAM]) {
    console.log(`\n**${team.name}**\n`);
    console.log(formatComparison(compareScalingPolicies(seed, team)));
  }
}

main();
