import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { WatchedDeadLetterQueue } from './operations-alarms';
import {
  cloudFrontMetric,
  clusterMetric,
  comfyuiSeriesSearch,
  gpuNodeHoursPerDay,
  perGpuNodeSearch,
  syncRunMetric,
} from './operations-metrics';

export interface OperationsDashboardProps {
  readonly dashboardName: string;
  readonly clusterName: string;
  readonly systemNodeCount: number;
  readonly deadLetterQueues: readonly WatchedDeadLetterQueue[];
  /** The jobs queue. @default no jobs widgets */
  readonly jobsQueue?: sqs.IQueue;
  /** Functions whose errors and throttles are drawn, by label. */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /** The CloudFront distribution. @default no CloudFront widgets */
  readonly distributionId?: string;
  /** Draw origin latency (CloudFront's additional metrics, config cloudFrontAdditionalMetrics). @default false */
  readonly originLatency?: boolean;
  /** Alarms whose state the top row shows. */
  readonly alarms: readonly cloudwatch.IAlarm[];
}

const WIDTH = 8;
const HEIGHT = 6;

const graph = (title: string, left: cloudwatch.IMetric[], options: Partial<cloudwatch.GraphWidgetProps> = {}) =>
  new cloudwatch.GraphWidget({ title, left, width: WIDTH, height: HEIGHT, ...options });

/** Sum of every line of a search (every pod and GPU): one number for the cluster. */
const total = (search: cloudwatch.SearchExpression, label: string, id: string) =>
  new cloudwatch.MathExpression({ expression: `SUM(${id})`, usingMetrics: { [id]: search }, label, period: Duration.minutes(1) });

/**
 * One dashboard for the operator, top to bottom as trouble travels: alarm states; GPU nodes (utilization and
 * memory per node, node count and failures, node-hours); prompts on the GPUs (queue depth and wait, prompts and
 * failures per minute, CUDA out-of-memory); jobs (backlog, age, dead letters); model sync; functions; CloudFront.
 *
 * The prompt widgets read the multi-GPU `/metrics` series (comfyui_image/multigpu/core/metrics.py) that the ComfyUI
 * metrics scraper sends (COMFYUI_PROMETHEUS_METRICS; stock ComfyUI has no `/metrics`, so they stay empty with it); the
 * GPU node widgets read the CloudWatch Observability add-on (Container Insights with enhanced observability). Both
 * come with config `operations` (lib/addons/cloudwatch-observability.ts).
 */
export class OperationsDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: OperationsDashboardProps) {
    super(scope, id);
    const cluster = props.clusterName;
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.hours(6),
    });

    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [...props.alarms], width: 24, height: 3 }),
    );

    this.dashboard.addWidgets(
      graph('GPU utilization per node (%)', [perGpuNodeSearch(cluster, 'node_gpu_utilization', '')], { leftYAxis: { min: 0, max: 100 } }),
      graph('GPU memory used per node (%)', [perGpuNodeSearch(cluster, 'node_gpu_memory_utilization', '')], { leftYAxis: { min: 0, max: 100 } }),
      graph('Nodes (all) and failed nodes', [
        clusterMetric(cluster, 'cluster_node_count', 'Average').with({ label: 'Nodes' }),
        clusterMetric(cluster, 'cluster_failed_node_count', 'Maximum').with({ label: 'Failed nodes' }),
      ]),
    );

    const prompts = (outcome: string) => comfyuiSeriesSearch(cluster, 'comfyui_gpu_prompts_total', 'Sum', { outcome });
    const waitSum = comfyuiSeriesSearch(cluster, 'comfyui_gpu_queue_wait_seconds_sum', 'Sum');
    const waitCount = comfyuiSeriesSearch(cluster, 'comfyui_gpu_queue_wait_seconds_count', 'Sum');
    this.dashboard.addWidgets(
      graph('Prompts queued per GPU', [comfyuiSeriesSearch(cluster, 'comfyui_gpu_queue_depth', 'Maximum')]),
      graph('Queue wait, mean (s)', [
        new cloudwatch.MathExpression({
          expression: 'SUM(waitSum) / SUM(waitCount)',
          usingMetrics: { waitSum, waitCount },
          label: 'Enqueue to start',
          period: Duration.minutes(1),
        }),
      ]),
      graph('Prompts per minute, failures and OOM retries', [
        total(prompts('success'), 'Succeeded', 'ok'),
        total(prompts('error'), 'Failed', 'failed'),
        // comfyui_gpu_oom counts every out-of-memory attempt, retried or not (multigpu/core/retry.py).
        total(comfyuiSeriesSearch(cluster, 'comfyui_gpu_oom_total', 'Sum'), 'CUDA out-of-memory retries', 'oom'),
      ]),
    );

    const queueWidgets: cloudwatch.IWidget[] = [
      graph('Dead-letter queues (messages)', props.deadLetterQueues.map((d) =>
        d.queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', label: d.name, period: Duration.minutes(5) }))),
    ];
    if (props.jobsQueue) {
      queueWidgets.unshift(
        graph('Jobs backlog', [
          props.jobsQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', label: 'Waiting' }),
          props.jobsQueue.metricApproximateNumberOfMessagesNotVisible({ statistic: 'Maximum', label: 'Running (in flight)' }),
        ]),
        graph('Oldest job (s)', [props.jobsQueue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', label: 'Age' })]),
      );
    }
    this.dashboard.addWidgets(...queueWidgets);

    const functionErrors = Object.entries(props.functions).map(([label, fn]) => fn.metricErrors({ label, period: Duration.minutes(5) }));
    this.dashboard.addWidgets(
      graph('Model sync runs on nodes', [
        syncRunMetric(cluster, 'succeeded').with({ label: 'Done' }),
        syncRunMetric(cluster, 'failed').with({ label: 'Failed' }),
      ]),
      graph('Lambda errors', functionErrors),
      graph('GPU node-hours, last 24 h', [gpuNodeHoursPerDay(cluster, props.systemNodeCount)]),
    );

    if (props.distributionId) {
      const id = props.distributionId;
      const edge: cloudwatch.IWidget[] = [
        graph('CloudFront error rates (%)', [
          cloudFrontMetric(id, '4xxErrorRate', 'Average').with({ label: '4xx' }),
          cloudFrontMetric(id, '5xxErrorRate', 'Average').with({ label: '5xx' }),
        ]),
        graph('CloudFront requests', [cloudFrontMetric(id, 'Requests', 'Sum').with({ label: 'Requests' })]),
      ];
      if (props.originLatency) {
        // OriginLatency takes percentile statistics only (programming-cloudwatch-metrics.html above).
        edge.push(graph('CloudFront origin latency (ms)', [
          cloudFrontMetric(id, 'OriginLatency', 'p50').with({ label: 'p50' }),
          cloudFrontMetric(id, 'OriginLatency', 'p90').with({ label: 'p90' }),
        ]));
      }
      this.dashboard.addWidgets(...edge);
    }
  }
}
