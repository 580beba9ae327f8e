import { CliError, EXIT } from '../cli-error';
import { ComfyuiClient } from '../comfyui/comfyui-client';
import { detectGpus } from '../comfyui/run-bench';
import { seededPrompts } from '../comfyui/seeded-prompts';
import { checkBadHeader } from './bad-header-check';
import { CHECK_NAMES, CheckName, CheckOutcome, CheckResult, VerifyReport, fail, skip } from './check-result';
import { checkHeaderRouting } from './header-routing-check';
import { runParallelRound } from './parallel-round';
import { judgeParallelism } from './parallelism-check';
import { checkQueueIsolation } from './queue-isolation-check';
import { judgeRamSharing } from './ram-sharing-check';
import { checkThroughput } from './throughput-check';
import { ParallelRound, VerifyContext, VerifyOptions } from './verify-context';
import { findWorkers, judgeWorkers } from './workers-check';

type Check = (ctx: VerifyContext) => Promise<CheckOutcome>;

/** Errors that stop verify instead of failing one check: the node, the credentials or the workflow are unusable. */
const STOPPING_EXITS: readonly number[] = [EXIT.usage, EXIT.unreachable, EXIT.unauthorized, EXIT.validation];

/**
 * Runs the acceptance checks in order, reporting each as it ends. `workers` decides N; when it fails, the
 * others are skipped, since every figure after it depends on N workers being up.
 */
export async function runVerify(options: VerifyOptions, onResult: (result: CheckResult) => void): Promise<VerifyReport> {
  const client = new ComfyuiClient(options.endpoint);
  const nextPrompt = seededPrompts(options.workflowFile, options.overrides);
  const results: CheckResult[] = [];
  const record = (name: CheckName, outcome: CheckOutcome) => {
    const result = { name, ...outcome };
    results.push(result);
    onResult(result);
  };

  let gpus: number | undefined;
  let blocked: string | undefined;
  if (options.skip.has('workers')) {
    record('workers', skip('--skip workers'));
    gpus = options.gpus ?? (await detectGpus(client));
    if (gpus < 2) blocked = 'the server reports one GPU';
  } else {
    const found = await findWorkers(client);
    const outcome = judgeWorkers(found, options.gpus);
    record('workers', outcome);
    if (outcome.status === 'FAIL') blocked = 'workers failed; fix that first';
    else gpus = found.queues;
  }

  let round: Promise<ParallelRound> | undefined;
  const ctx: VerifyContext = {
    options,
    client,
    gpus: gpus ?? 0,
    nextPrompt,
    pinned: (gpu) => new ComfyuiClient({ ...options.endpoint, gpu }),
    parallelRound: () => (round ??= runParallelRound(ctx)),
  };
  // After a parallel round every GPU holds the models, so throughput needs no warmup of its own.
  const roundLoadedModels = async () => (round ? round.then(() => true, () => false) : false);
  const checks: Record<Exclude<CheckName, 'workers'>, Check> = {
    'bad-header': checkBadHeader,
    'header-routing': checkHeaderRouting,
    'queue-isolation': checkQueueIsolation,
    parallelism: async (c) => judgeParallelism(await c.parallelRound(), c.gpus),
    'ram-sharing': async (c) => judgeRamSharing(await c.parallelRound(), c.gpus),
    throughput: async (c) => checkThroughput(c, !(await roundLoadedModels())),
  };
  for (const name of CHECK_NAMES) {
    if (name === 'workers') continue;
    if (options.skip.has(name)) record(name, skip(`--skip ${name}`));
    else if (blocked) record(name, skip(`not run: ${blocked}`));
    else record(name, await outcomeOf(checks[name], ctx));
  }
  return { url: client.baseUrl.toString(), gpus, passed: !results.some((r) => r.status === 'FAIL'), checks: results };
}

/** A check's outcome; an error it raised fails the check unless it makes every check pointless (STOPPING_EXITS). */
async function outcomeOf(check: Check, ctx: VerifyContext): Promise<CheckOutcome> {
  try {
    return await check(ctx);
  } catch (error) {
    if (!(error instanceof CliError) || STOPPING_EXITS.includes(error.exitCode)) throw error;
    return fail(error.message, hintFor(error.exitCode));
  }
}

function hintFor(exitCode: number): string {
  if (exitCode === EXIT.timeout) return 'the node is slower than --timeout allows: raise --timeout, or lower --steps';
  if (exitCode === EXIT.execution) return "a prompt failed on the node: run 'comfyctl invoke' with the workflow to see its error in full";
  return 'read the pod log (kubectl -n comfyui logs deploy/comfyui)';
}
