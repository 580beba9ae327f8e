import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { Command, Option } from 'commander';
import { MODEL_SYNC_DOCUMENT_NAME, modelSyncLogGroupName, OUTPUT_KEYS, STACK_NAMES } from '../../names';
import { AwsOptions, awsClientConfig, withAwsOptions } from '../aws-options';
import { CliError, EXIT } from '../cli-error';
import { optionalDeployOutput } from '../deploy-outputs';
import { parseDuration } from './number-options';
import { readLogReports, readSsmInvocations, SourceAnswer } from './sync-report-sources';
import { formatStatusTable, LogStreamReport, nodeStatuses, SsmInvocation, statusesJson } from './sync-report';

export interface StatusOptions extends AwsOptions {
  readonly json?: boolean;
  /** Milliseconds of history to look at. */
  readonly since: number;
  readonly logGroup?: string;
}

const SEVEN_DAYS_MS = 7 * 86_400_000;

export function registerStatusCommand(models: Command): void {
  withAwsOptions(
    models
      .command('status')
      .description('Show the model sync each GPU node reported last (SSM commands, boot syncs, their CloudWatch output)')
      .addOption(new Option('--since <duration>', 'how far back to look: 30m, 12h, 7d')
        .argParser(parseDuration).default(SEVEN_DAYS_MS, '7d'))
      .option('--log-group <name>', 'sync output log group (default: LambdaModelsSync.ModelSyncLogGroupName from --outputs)')
      .option('--json', 'machine-readable output'),
  )
    .addHelpText('after', `
Nodes report through the ${MODEL_SYNC_DOCUMENT_NAME} SSM command the sync Lambda sends after each bucket change,
and the full sync each node runs at boot writes to the same log group (in --json, its commandId is boot-<time>).

Examples:
  $ comfyctl models status
  $ comfyctl models status --since 12h --json`)
    .action(async (options: StatusOptions) => {
      await showSyncStatus(options);
    });
}

function defaultLogGroup(options: StatusOptions): string | undefined {
  if (options.logGroup) return options.logGroup;
  const fromOutputs = optionalDeployOutput(options.outputs, STACK_NAMES.modelsSync, OUTPUT_KEYS.modelSyncLogGroupName);
  const cluster = optionalDeployOutput(options.outputs, STACK_NAMES.cluster, OUTPUT_KEYS.clusterName);
  return fromOutputs ?? (cluster ? modelSyncLogGroupName(cluster) : undefined);
}

export async function showSyncStatus(options: StatusOptions, now = new Date()): Promise<void> {
  const { region, endpoint } = awsClientConfig(options);
  const since = new Date(now.getTime() - options.since);
  const logGroup = defaultLogGroup(options);
  const [ssmAnswer, logsAnswer]: [SourceAnswer<SsmInvocation[]>, SourceAnswer<LogStreamReport[]>] = await Promise.all([
    readSsmInvocations(new SSMClient({ region, endpoint }), since),
    logGroup
      ? readLogReports(new CloudWatchLogsClient({ region, endpoint }), logGroup, since)
      : Promise.resolve({ error: 'no log group: pass --log-group, or --outputs with the LambdaModelsSync stack outputs' }),
  ]);
  const errors = [ssmAnswer, logsAnswer].flatMap((a) => ('error' in a ? [a.error] : []));
  if (errors.length === 2) {
    throw new CliError(
      `no sync status is reachable:\n  ${errors.join('\n  ')}\n` +
        'check: AWS credentials and --region (the cluster\'s region), that the LambdaModelsSync stack is deployed, ' +
        'and that your role may read SSM commands and the log group',
      EXIT.unreachable,
    );
  }
  errors.forEach((e) => process.stderr.write(`warning: ${e}\n`));
  const statuses = nodeStatuses('ok' in ssmAnswer ? ssmAnswer.ok : [], 'ok' in logsAnswer ? logsAnswer.ok : [], now);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(statusesJson(statuses), null, 2)}\n`);
  } else if (statuses.length > 0) {
    process.stdout.write(formatStatusTable(statuses));
  }
  if (statuses.length === 0) {
    throw new CliError(
      `no GPU node reported a model sync since ${since.toISOString()}: nodes report after a bucket change ` +
        "(try 'comfyctl models upload'), or look further back with --since 30d",
      EXIT.failure,
    );
  }
}
