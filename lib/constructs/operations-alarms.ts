import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { clusterMetric, gpuNodeHoursPerDay, syncRunMetric } from './operations-metrics';

/** A dead-letter queue to watch, and how long a message may sit there before it is news. */
export interface WatchedDeadLetterQueue {
  /** Construct id and alarm wording, e.g. `ModelSync`. */
  readonly name: string;
  readonly queue: sqs.IQueue;
  /**
   * Minutes a message must stay visible before the alarm fires: 5 for a queue nobody consumes, longer for one a
   * function drains itself (a message is visible for moments before the function takes it).
   */
  readonly minutes: number;
}

export interface OperationsAlarmsProps {
  readonly clusterName: string;
  /** Where every alarm notifies. */
  readonly action: cloudwatch.IAlarmAction;
  readonly deadLetterQueues: readonly WatchedDeadLetterQueue[];
  /** The jobs queue. @default no job-age alarm (config `jobs` off) */
  readonly jobsQueue?: sqs.IQueue;
  /** Minutes the oldest job message may wait or run before the job-age alarm fires. */
  readonly jobAgeAlarmMinutes: number;
  /** Nodes of the system node group: the GPU node-hours alarm counts the others. */
  readonly systemNodeCount: number;
  /** GPU node-hours per 24 hours above which the budget alarm fires. */
  readonly gpuNodeHoursDailyBudget: number;
}

const FIVE_MINUTES = Duration.minutes(5);
/** A node that stays failed this long is not joining or draining: it is stuck. */
export const NODE_NOT_READY_MINUTES = 15;

/**
 * The alarms of the home region, all to one action. Missing data means "nothing happened" (no message, no sync
 * run, no traffic) except for node health, where it means Container Insights is not reporting and the alarm says
 * so with INSUFFICIENT_DATA rather than OK.
 */
export class OperationsAlarms extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: OperationsAlarmsProps) {
    super(scope, id);
    const alarm = (alarmId: string, alarmProps: cloudwatch.AlarmProps) => {
      const created = new cloudwatch.Alarm(this, alarmId, alarmProps);
      created.addAlarmAction(props.action);
      this.alarms.push(created);
    };

    for (const dlq of props.deadLetterQueues) {
      const periods = Math.ceil(dlq.minutes / 5);
      alarm(`${dlq.name}DeadLetters`, {
        alarmDescription: `The ${dlq.name} dead-letter queue has held messages for ${dlq.minutes} minutes: read them, fix the cause, redrive or delete.`,
        metric: dlq.queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Minimum', period: FIVE_MINUTES }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: periods,
        datapointsToAlarm: periods,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }

    alarm('ModelSyncFailures', {
      alarmDescription: 'A model sync run on a GPU node ended FAILED: see its line in the model-sync log group (comfyctl models status).',
      metric: syncRunMetric(props.clusterName, 'failed'),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // cluster_failed_node_count: nodes with any failing node condition (Container Insights). Its dimensions carry no
    // node pool, so a system node stuck the same way fires it too, which is as much worth an email. Minimum over each
    // period: a node that was failed for the whole 15 minutes, not one that joined or left within them.
    const nodePeriods = NODE_NOT_READY_MINUTES / 5;
    alarm('NodeNotReady', {
      alarmDescription: `A node has been failing a node condition (NotReady, pressure) for ${NODE_NOT_READY_MINUTES} minutes: kubectl describe node; comfyctl doctor.`,
      metric: clusterMetric(props.clusterName, 'cluster_failed_node_count', 'Minimum'),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: nodePeriods,
      datapointsToAlarm: nodePeriods,
      treatMissingData: cloudwatch.TreatMissingData.MISSING,
    });

    alarm('GpuNodeHoursBudget', {
      alarmDescription:
        `GPU nodes ran more than ${props.gpuNodeHoursDailyBudget} node-hours in the last 24 hours (config gpuNodeHoursDailyBudget): ` +
        'check for a node kept alive by a stuck pod, or scale ComfyUI down.',
      metric: gpuNodeHoursPerDay(props.clusterName, props.systemNodeCount),
      threshold: props.gpuNodeHoursDailyBudget,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    if (props.jobsQueue) {
      // The runner keeps a running job's message in flight, so the age counts waiting and rendering together.
      alarm('JobAge', {
        alarmDescription:
          `The oldest job has waited or run for over ${props.jobAgeAlarmMinutes} minutes (config jobAgeAlarmMinutes): ` +
          'no idle GPU (comfyuiReplicas 0?), no job runner (jobRunnerReplicas), or a stuck render.',
        metric: props.jobsQueue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: FIVE_MINUTES }),
        threshold: props.jobAgeAlarmMinutes * 60,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
  }
}
