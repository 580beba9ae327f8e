import { Stack, StackProps } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { AppConfig } from '../config';
import { OperationsAlarmTopic } from '../constructs/operations-alarm-topic';
import { OperationsAlarms, WatchedDeadLetterQueue } from '../constructs/operations-alarms';
import { OperationsDashboard } from '../constructs/operations-dashboard';
import { ModelSyncRunMetrics } from '../constructs/operations-sync-metrics';
import { operationsDashboardName } from '../names';

/** What the operations stack watches, from the stacks that own it. */
export interface OperationsSources {
  /** The model-sync queue's dead-letter queue (nobody consumes it). */
  readonly modelSyncDeadLetterQueue: sqs.IQueue;
  /** Functions whose errors the dashboard draws, by label. */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /** The jobs stack's queues. @default none (config `jobs` off) */
  readonly jobs?: {
    readonly queue: sqs.IQueue;
    /** Drained by the jobs dead-letter function, which fails each job: a message that stays is news. */
    readonly deadLetterQueue: sqs.IQueue;
    /** Webhook retries the webhook function itself failed on: kept to inspect, nobody consumes them. */
    readonly webhookDeadLetterQueue: sqs.IQueue;
  };
  /** The CloudFront distribution. @default none (config `cloudFront` off) */
  readonly distributionId?: string;
}

export interface OperationsStackProps extends StackProps {
  readonly config: AppConfig;
  readonly sources: OperationsSources;
}

/**
 * `ComfyuiOperations`: the CloudWatch dashboard and the alarms of the home region, notifying one encrypted SNS
 * topic (email from config `alarmEmail`). CloudFront's 5xx alarm lives in `ComfyuiOperationsEdge` (us-east-1).
 * Deployed last: it reads the queues and functions of the other stacks.
 */
export class OperationsStack extends Stack {
  readonly topic: OperationsAlarmTopic;
  readonly alarms: OperationsAlarms;
  readonly dashboard: OperationsDashboard;

  constructor(scope: Construct, id: string, props: OperationsStackProps) {
    super(scope, id, props);
    const { config, sources } = props;

    this.topic = new OperationsAlarmTopic(this, 'AlarmTopic', { email: config.alarmEmail });
    new ModelSyncRunMetrics(this, 'ModelSyncRuns', { clusterName: config.clusterName });

    const deadLetterQueues: WatchedDeadLetterQueue[] = [
      { name: 'ModelSync', queue: sources.modelSyncDeadLetterQueue, minutes: 5 },
      ...(sources.jobs
        ? [
            { name: 'Jobs', queue: sources.jobs.deadLetterQueue, minutes: 15 },
            { name: 'WebhookRetries', queue: sources.jobs.webhookDeadLetterQueue, minutes: 5 },
          ]
        : []),
    ];
    this.alarms = new OperationsAlarms(this, 'Alarms', {
      clusterName: config.clusterName,
      action: this.topic.action,
      deadLetterQueues,
      jobsQueue: sources.jobs?.queue,
      jobAgeAlarmMinutes: config.jobAgeAlarmMinutes,
      systemNodeCount: config.systemNodeCount,
      gpuNodeHoursDailyBudget: config.gpuNodeHoursDailyBudget,
    });
    this.dashboard = new OperationsDashboard(this, 'Dashboard', {
      dashboardName: operationsDashboardName(config.clusterName),
      clusterName: config.clusterName,
      systemNodeCount: config.systemNodeCount,
      deadLetterQueues,
      jobsQueue: sources.jobs?.queue,
      functions: sources.functions,
      distributionId: sources.distributionId,
      originLatency: config.cloudFrontAdditionalMetrics,
      alarms: this.alarms.alarms,
    });
  }
}
