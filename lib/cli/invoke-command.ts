import { Command, Option } from 'commander';
import { invokeWorkflow } from './comfyui/invoke-workflow';
import { DEFAULT_WAKE_TIMEOUT_MS } from './comfyui/wait-for-gpus';
import { EndpointOptions, resolveUrl, withEndpointOptions } from './comfyui/endpoint-options';
import { collect, integerIn, secondsAsMs } from './option-parsers';
import { statusLog } from './progress';

interface InvokeFlags extends EndpointOptions {
  out: string;
  gpu?: number;
  prompt?: string;
  negative?: string;
  seed?: number;
  steps?: number;
  ckpt?: string;
  set?: string[];
  timeout: number;
  wakeTimeout: number;
  download: boolean;
  previews: boolean;
  json: boolean;
  quiet: boolean;
}

/** `comfyctl invoke <workflow.json>`: run a workflow, follow its progress, download its outputs. */
export function registerInvokeCommand(program: Command): void {
  const command = program
    .command('invoke')
    .description('run an API-format workflow, follow its progress and download its outputs')
    .argument('<workflow>', 'workflow JSON in ComfyUI\'s API format ("Export (API)")')
    .option('--out <dir>', 'folder for the downloaded outputs', 'outputs')
    .option('--gpu <index>', 'pin the prompt to one GPU of a multi-GPU pod (sends X-TARGET-GPU)', integerIn(0, 63))
    .option('--prompt <text>', 'positive prompt: every text encoder feeding a sampler\'s positive input')
    .option('--negative <text>', 'negative prompt: every text encoder feeding a sampler\'s negative input')
    .option('--seed <n>', 'every literal seed / noise_seed input', integerIn(0, Number.MAX_SAFE_INTEGER))
    .option('--steps <n>', 'every literal steps input', integerIn(1, 10_000))
    .option('--ckpt <name>', 'every literal ckpt_name input, e.g. sd_xl_base_1.0.safetensors')
    .option('--set <Class.input=value>', 'set an input on every node of a class (repeatable), e.g. EmptyLatentImage.width=1024', collect)
    .addOption(new Option('--timeout <seconds>', 'give up waiting after this long (the prompt keeps running)').default(600_000, '600').argParser(secondsAsMs))
    .addOption(
      new Option('--wake-timeout <seconds>', 'with no GPU running (autoscaling from zero), wait this long for one to start before giving up')
        .default(DEFAULT_WAKE_TIMEOUT_MS, String(DEFAULT_WAKE_TIMEOUT_MS / 1000))
        .argParser(secondsAsMs),
    )
    .option('--no-download', 'do not download the outputs')
    .option('--previews', 'also download temporary outputs (PreviewImage)', false)
    .option('--json', 'print a JSON summary instead of the file paths', false)
    .option('--quiet', 'no progress bar or status lines', false);
  withEndpointOptions(command)
    .addHelpText('after', `
Examples:
  comfyctl invoke workflow_api.json --url http://127.0.0.1:8188 --prompt "a lighthouse at dusk" --seed 42
  COMFYUI_TOKEN=alice.xxxx comfyctl invoke workflow_api.json --gpu 2 --out renders/
  comfyctl invoke workflow_api.json --set EmptyLatentImage.width=1024 --set EmptyLatentImage.height=1024

Outputs are saved under --out with ComfyUI's file names; their paths are printed one per line.
With autoscaling, a deployment with no GPU running answers "GPUs starting" (503) at first: invoke waits, printing
progress, up to --wake-timeout, then queues the prompt.`)
    .action(async (workflow: string, flags: InvokeFlags) => {
      const log = statusLog(flags.quiet);
      const result = await invokeWorkflow({
        workflowFile: workflow,
        endpoint: { url: resolveUrl(flags), token: flags.token, gpu: flags.gpu },
        overrides: { prompt: flags.prompt, negative: flags.negative, seed: flags.seed, steps: flags.steps, checkpoint: flags.ckpt, set: flags.set },
        outDir: flags.out,
        download: flags.download,
        previews: flags.previews,
        timeoutMs: flags.timeout,
        wakeTimeoutMs: flags.wakeTimeout,
        quiet: flags.quiet,
        log,
      });
      if (flags.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else for (const file of result.files) process.stdout.write(`${file}\n`);
    });
}
