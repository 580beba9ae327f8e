import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { modelSyncLogGroupName, modelSyncRunMetrics } from '../names';

export interface ModelSyncRunMetricsProps {
  /** The cluster whose model-sync command log group (modelSyncLogGroupName) is read. */
  readonly clusterName: string;
}

/**
 * The last line every sync run writes (model_sync/cli.py: `[model-sync] done: ...` or `[model-sync] FAILED: ...`),
 * counted by two metric filters on the model-sync command log group, which both the SSM commands and the boot
 * syncs write to. The group is found by its fixed name, so no export ties this stack to LambdaModelsSync.
 * Each filter adds one custom metric; a filter itself costs nothing.
 */
export class ModelSyncRunMetrics extends Construct {
  constructor(scope: Construct, id: string, props: ModelSyncRunMetricsProps) {
    super(scope, id);
    const logGroup = logs.LogGroup.fromLogGroupName(this, 'CommandLogs', modelSyncLogGroupName(props.clusterName));
    const names = modelSyncRunMetrics(props.clusterName);
    // A quoted term matches the exact text, brackets and colon included
    // (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html).
    const count = (filterId: string, metricName: string, line: string) =>
      new logs.MetricFilter(this, filterId, {
        logGroup,
        filterPattern: logs.FilterPattern.literal(`"${line}"`),
        metricNamespace: names.namespace,
        metricName,
        metricValue: '1',
      });
    count('Succeeded', names.succeeded, MODEL_SYNC_DONE_LINE);
    count('Failed', names.failed, MODEL_SYNC_FAILED_LINE);
  }
}

/** The prefixes of a run's last line (model_sync/log.py PREFIX + cli.py); a test reads them in the Python source. */
export const MODEL_SYNC_DONE_LINE = '[model-sync] done:';
export const MODEL_SYNC_FAILED_LINE = '[model-sync] FAILED:';
