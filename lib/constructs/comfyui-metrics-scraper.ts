import { Stack } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import {
  CLOUDWATCH_OBSERVABILITY_NAMESPACE, COMFYUI_METRICS_SCRAPER, COMFYUI_NAMESPACE, COMFYUI_PROMETHEUS_METRICS, SYSTEM_NODE_LABEL,
} from '../names';
import { containerInsightsLogGroupPrefix, logGroupWriteStatements } from '../policies/cloudwatch-agent';
import { podIdentityRole } from './pod-identity-role';
import { CLOUDWATCH_AGENT_IMAGE } from '../versions';

/**
 * The scraper's namespace (the CloudWatch Observability add-on's) and its name and pod label: manifests/base/
 * metrics-scrape-policy.yaml admits exactly this pod to the ComfyUI pods' port (a test compares the two).
 */
export const METRICS_SCRAPER = { namespace: CLOUDWATCH_OBSERVABILITY_NAMESPACE, name: COMFYUI_METRICS_SCRAPER } as const;

/** The Prometheus job name; the agent's metric declarations select the job's series by it. */
const JOB = 'comfyui';

/** The log group the scraper writes its embedded-metric-format events to (Container Insights' Prometheus group). */
export function prometheusLogGroupName(clusterName: string): string {
  return `${containerInsightsLogGroupPrefix(clusterName)}prometheus`;
}

/**
 * The Prometheus scrape configuration: every ComfyUI pod's `/metrics` on its `http` port, once a minute, labelled with
 * the Namespace and PodName dimensions the dashboard reads (COMFYUI_PROMETHEUS_METRICS).
 */
export function scraperPrometheusConfig(): Record<string, unknown> {
  return {
    global: { scrape_interval: '1m', scrape_timeout: '10s' },
    scrape_configs: [{
      job_name: JOB,
      sample_limit: 10000,
      metrics_path: '/metrics',
      kubernetes_sd_configs: [{ role: 'pod', namespaces: { names: [COMFYUI_NAMESPACE] } }],
      relabel_configs: [
        { source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'], action: 'keep', regex: 'comfyui' },
        { source_labels: ['__meta_kubernetes_pod_container_port_name'], action: 'keep', regex: 'http' },
        { source_labels: ['__meta_kubernetes_namespace'], action: 'replace', target_label: 'Namespace' },
        { source_labels: ['__meta_kubernetes_pod_name'], action: 'replace', target_label: 'PodName' },
      ],
    }],
  };
}

/**
 * The CloudWatch agent's configuration: Prometheus series to embedded metric format in the Prometheus log group,
 * from which CloudWatch extracts the metrics the dashboard draws: one per pod and GPU (`gpu` label), prompts also by
 * `outcome`. The agent turns counters into per-scrape deltas, so a Sum over a minute is per minute
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/ContainerInsights-Prometheus-Setup-configure.html).
 */
export function scraperAgentConfig(clusterName: string, region: string): Record<string, unknown> {
  const [clusterDim, namespaceDim, podDim, gpuDim] = COMFYUI_PROMETHEUS_METRICS.dimensions;
  const perGpu = [clusterDim, namespaceDim, podDim, gpuDim];
  const fromJob = { source_labels: ['job'], label_matcher: `^${JOB}$` };
  return {
    agent: { region },
    logs: {
      metrics_collected: {
        prometheus: {
          cluster_name: clusterName,
          log_group_name: prometheusLogGroupName(clusterName),
          prometheus_config_path: '/etc/prometheusconfig/prometheus.yaml',
          emf_processor: {
            metric_namespace: COMFYUI_PROMETHEUS_METRICS.namespace,
            metric_declaration: [
              {
                ...fromJob,
                dimensions: [perGpu],
                metric_selectors: ['^comfyui_gpu_queue_depth$', '^comfyui_gpu_queue_wait_seconds_(sum|count)$', '^comfyui_gpu_oom_total$'],
              },
              { ...fromJob, dimensions: [[...perGpu, 'outcome']], metric_selectors: ['^comfyui_gpu_prompts_total$'] },
            ],
          },
        },
      },
      force_flush_interval: 5,
    },
  };
}

export interface ComfyuiMetricsScraperProps {
  readonly cluster: eks.ICluster;
  /** The cluster's configured name (log group and trust). */
  readonly clusterName: string;
  /** What must exist first: the add-on, which creates the namespace. */
  readonly after: Construct;
}

/**
 * One CloudWatch agent that scrapes the ComfyUI pods' `/metrics` (the dashboard's prompt widgets), as AWS's Container
 * Insights Prometheus Deployment does (aws-samples/amazon-cloudwatch-container-insights, prometheus-eks.yaml).
 *
 * Not the add-on's own agent: that one runs on the host network, and a NetworkPolicy cannot tell a node's address
 * from a pod's (VPC CNI pods take addresses from the nodes' subnets), so admitting it would open the ComfyUI port to
 * every pod outside the namespace. A pod network Deployment is admitted by name instead (metrics-scrape-policy.yaml).
 * Nor a DaemonSet of the add-on's agent scraping its own node only: the agent reads the Prometheus file without
 * expanding environment variables (plugins/inputs/prometheus/start.go, config.LoadFile), so it cannot name its node.
 */
export class ComfyuiMetricsScraper extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: ComfyuiMetricsScraperProps) {
    super(scope, id);
    const { namespace, name } = METRICS_SCRAPER;
    const stack = Stack.of(this);
    const logGroup = `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:${prometheusLogGroupName(props.clusterName)}`;
    const identity = podIdentityRole(this, {
      // The cluster's attribute, not the configured name: the association must wait for the cluster.
      clusterName: props.cluster.clusterName,
      namespace,
      serviceAccount: name,
      description: `ComfyUI metrics scraper of ${props.clusterName}: its Prometheus log group only`,
      inlinePolicies: {
        PrometheusLogGroup: new iam.PolicyDocument({ statements: logGroupWriteStatements(logGroup) }),
      },
    });
    this.role = identity.role;
    const association = identity.association;
    const labels = { 'app.kubernetes.io/name': name };
    const manifest = props.cluster.addManifest('ComfyuiMetricsScraper',
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } },
      {
        // Pod discovery only (kubernetes_sd_configs role pod); the ComfyUI namespace may not exist yet, hence a ClusterRole.
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name },
        rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name },
        subjects: [{ kind: 'ServiceAccount', name, namespace }],
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      },
      {
        apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace },
        data: {
          'cwagentconfig.json': stack.toJsonString(scraperAgentConfig(props.clusterName, stack.region)),
          'prometheus.yaml': JSON.stringify(scraperPrometheusConfig(), null, 2),
        },
      },
      {
        apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace, labels },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: name,
              nodeSelector: { [SYSTEM_NODE_LABEL.key]: SYSTEM_NODE_LABEL.value },
              terminationGracePeriodSeconds: 60,
              containers: [{
                name: 'cloudwatch-agent',
                image: CLOUDWATCH_AGENT_IMAGE,
                // The image's start script reads /etc/cwagentconfig; CI_VERSION as in AWS's manifest.
                env: [{ name: 'CI_VERSION', value: 'k8s/1.3.34' }],
                resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '500m', memory: '512Mi' } },
                volumeMounts: [
                  { name: 'cwagentconfig', mountPath: '/etc/cwagentconfig' },
                  { name: 'prometheusconfig', mountPath: '/etc/prometheusconfig' },
                ],
              }],
              volumes: [
                { name: 'cwagentconfig', configMap: { name, items: [{ key: 'cwagentconfig.json', path: 'cwagentconfig.json' }] } },
                { name: 'prometheusconfig', configMap: { name, items: [{ key: 'prometheus.yaml', path: 'prometheus.yaml' }] } },
              ],
            },
          },
        },
      },
    );
    manifest.node.addDependency(props.after);
    manifest.node.addDependency(association);
  }
}
