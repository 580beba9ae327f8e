import { Command, Option } from 'commander';
import { OUTPUT_KEYS, STACK_NAMES } from '../../names';
import { CliError, EXIT } from '../cli-error';
import { DEFAULT_OUTPUTS_FILE, optionalDeployOutput } from '../deploy-outputs';
import { cleartextTokenWarning, warnOnCommandLineToken } from '../token-exposure';

/** Options of every command that talks to ComfyUI. */
export interface EndpointOptions {
  readonly url?: string;
  readonly token?: string;
  readonly outputs: string;
}

/**
 * Adds --url (env COMFYUI_URL), --token (env COMFYUI_TOKEN) and --outputs, and warns on stderr before the
 * action when the token is on the command line or would cross the network in clear text.
 */
export function withEndpointOptions(command: Command): Command {
  const withOptions = command
    .addOption(new Option('--url <url>', 'ComfyUI base URL: CloudFront, ALB or http://127.0.0.1:8188 (default: CloudFrontUrl from --outputs)').env('COMFYUI_URL'))
    .addOption(new Option('--token <token>', "access token of a deployment behind edge auth ('comfyctl users add'); prefer the env variable").env('COMFYUI_TOKEN'))
    .option('--outputs <file>', "stack outputs written by 'cdk deploy --outputs-file'", DEFAULT_OUTPUTS_FILE);
  return warnOnCommandLineToken(withOptions, 'token', 'token', 'COMFYUI_TOKEN')
    .hook('preAction', (hooked) => warnOnCleartextToken(hooked.opts<EndpointOptions>()));
}

/** Warns once when the token would go to a non-loopback http:// URL; a URL that does not resolve is the action's error to report. */
function warnOnCleartextToken(options: EndpointOptions): void {
  if (!options.token) return;
  let url: string;
  try {
    url = resolveUrl(options);
  } catch {
    return;
  }
  const warning = cleartextTokenWarning(url);
  if (warning) process.stderr.write(`${warning}\n`);
}

/** The URL to use: --url / COMFYUI_URL, else the deployment's CloudFront URL, else an error saying how to set one. */
export function resolveUrl(options: EndpointOptions): string {
  const url = options.url ?? optionalDeployOutput(options.outputs, STACK_NAMES.cloudFrontEntry, OUTPUT_KEYS.cloudFrontUrl);
  if (!url) {
    throw new CliError(
      `no ComfyUI URL: pass --url (or set COMFYUI_URL), or run where ${options.outputs} from 'cdk deploy --outputs-file' has CloudFrontEntry.CloudFrontUrl`,
      EXIT.usage,
    );
  }
  return url;
}
