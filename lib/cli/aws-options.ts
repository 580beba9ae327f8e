import { Command, Option } from 'commander';
import { OUTPUT_KEYS, STACK_NAMES } from '../names';
import { DEFAULT_OUTPUTS_FILE, optionalDeployOutput } from './deploy-outputs';

/** Options every AWS-facing command accepts. */
export interface AwsOptions {
  /** `cdk deploy --outputs-file` document to read bucket names, region and ARNs from. */
  readonly outputs: string;
  readonly region?: string;
  /** An S3-compatible or emulator endpoint (moto, LocalStack); path-style addressing is used with it. */
  readonly endpointUrl?: string;
}

/** Adds --outputs, --region and --endpoint-url to a command. */
export function withAwsOptions(command: Command): Command {
  return command
    .option('--outputs <file>', "stack outputs written by 'cdk deploy --outputs-file'", DEFAULT_OUTPUTS_FILE)
    .option('--region <region>', 'AWS region (default: the deployed region from --outputs, else AWS_REGION)')
    .addOption(new Option('--endpoint-url <url>', 'AWS endpoint override, e.g. a local emulator').env('COMFYCTL_AWS_ENDPOINT_URL'));
}

/** SDK client configuration from the options: region from the flag, the outputs file, or the environment. */
export function awsClientConfig(options: AwsOptions): { region?: string; endpoint?: string; forcePathStyle?: boolean } {
  const region = options.region
    ?? optionalDeployOutput(options.outputs, STACK_NAMES.cluster, OUTPUT_KEYS.region)
    ?? process.env.AWS_REGION
    ?? process.env.AWS_DEFAULT_REGION;
  return options.endpointUrl ? { region, endpoint: options.endpointUrl, forcePathStyle: true } : { region };
}
