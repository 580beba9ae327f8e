import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { COMFYUI_PROMETHEUS_METRICS, modelSyncRunMetrics } from '../names';

/**
 * The metrics the dashboard draws and the alarms watch, built in one place so both read the same series.
 *
 * GPU and node metrics come from Container Insights with enhanced observability (the Amazon CloudWatch
 * Observability EKS add-on, v1.3.0-eksbuild.1 or later, whose DCGM exporter reads NVIDIA GPUs), namespace
 * ContainerInsights; names and dimensions as listed in "Amazon EKS and Kubernetes Container Insights with enhanced
 * observability metrics" (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Container-Insights-metrics-enhanced-EKS.html):
 * node_gpu_utilization and node_gpu_memory_utilization per [ClusterName, InstanceId, NodeName];
 * cluster_node_count and cluster_failed_node_count per [ClusterName].
 */
export const CONTAINER_INSIGHTS_NAMESPACE = 'ContainerInsights';

/** CloudFront publishes its metrics in us-east-1 only, with Region=Global
 * (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/programming-cloudwatch-metrics.html). */
export const CLOUDFRONT_METRICS_REGION = 'us-east-1';

const ONE_MINUTE = Duration.minutes(1);
const FIVE_MINUTES = Duration.minutes(5);

/** One Container Insights metric of the whole cluster. */
export function clusterMetric(clusterName: string, metricName: string, statistic: string, period = FIVE_MINUTES): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: CONTAINER_INSIGHTS_NAMESPACE,
    metricName,
    dimensionsMap: { ClusterName: clusterName },
    statistic,
    period,
  });
}

/**
 * One line per GPU node: nodes come and go with Karpenter, so a search finds them (GPU metrics exist only on nodes
 * with NVIDIA GPUs). Dashboards only: alarms cannot use searches.
 */
export function perGpuNodeSearch(clusterName: string, metricName: string, label: string): cloudwatch.SearchExpression {
  return new cloudwatch.SearchExpression({
    expression:
      `SEARCH('{${CONTAINER_INSIGHTS_NAMESPACE},ClusterName,InstanceId,NodeName} ` +
      `MetricName="${metricName}" ClusterName="${clusterName}"', 'Average', 60)`,
    label,
    period: ONE_MINUTE,
  });
}

/**
 * GPU node-hours of the last day: cluster_node_count (one value a minute) averaged over the day, less the system
 * node group, times 24. Metric math over a metric Container Insights already publishes: one alarm metric, no
 * function or schedule to run (a daily EventBridge check would need both, and IAM, to count the same nodes).
 * A system node group briefly one larger during an update counts as a GPU node for that while.
 */
export function gpuNodeHoursPerDay(clusterName: string, systemNodeCount: number): cloudwatch.MathExpression {
  const period = Duration.days(1);
  return new cloudwatch.MathExpression({
    expression: `(nodes - ${systemNodeCount}) * 24`,
    usingMetrics: { nodes: clusterMetric(clusterName, 'cluster_node_count', 'Average', period) },
    period,
    label: 'GPU node-hours, last 24 h',
  });
}

/**
 * A multi-GPU `/metrics` series once the CloudWatch agent scrapes it (COMFYUI_PROMETHEUS_METRICS), one line per
 * pod and GPU; `filter` names more labels and their values (prompts carry `outcome`).
 */
export function comfyuiSeriesSearch(
  clusterName: string,
  metricName: string,
  statistic: string,
  filter: Record<string, string> = {},
): cloudwatch.SearchExpression {
  const dimensions = [...COMFYUI_PROMETHEUS_METRICS.dimensions, ...Object.keys(filter)];
  const terms = Object.entries({ MetricName: metricName, ClusterName: clusterName, ...filter })
    .map(([key, value]) => `${key}="${value}"`)
    .join(' ');
  return new cloudwatch.SearchExpression({
    expression: `SEARCH('{${COMFYUI_PROMETHEUS_METRICS.namespace},${dimensions.join(',')}} ${terms}', '${statistic}', 60)`,
    label: '',
    period: ONE_MINUTE,
  });
}

/** Sync runs on the nodes that ended `done` or `FAILED` (ModelSyncRunMetrics' metric filters). */
export function syncRunMetric(clusterName: string, outcome: 'succeeded' | 'failed'): cloudwatch.Metric {
  const names = modelSyncRunMetrics(clusterName);
  return new cloudwatch.Metric({
    namespace: names.namespace,
    metricName: names[outcome],
    statistic: 'Sum',
    period: FIVE_MINUTES,
  });
}

/** A CloudFront distribution metric, read from us-east-1. */
export function cloudFrontMetric(distributionId: string, metricName: string, statistic: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/CloudFront',
    metricName,
    dimensionsMap: { DistributionId: distributionId, Region: 'Global' },
    statistic,
    period: FIVE_MINUTES,
    region: CLOUDFRONT_METRICS_REGION,
  });
}
