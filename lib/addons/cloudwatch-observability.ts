import * as blueprints from '@aws-quickstart/eks-blueprints';
import { Stack } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { ComfyuiMetricsScraper } from '../constructs/comfyui-metrics-scraper';
import { CLOUDWATCH_AGENT_SERVICE_ACCOUNT, CLOUDWATCH_OBSERVABILITY_NAMESPACE } from '../names';
import { cloudWatchAgentStatements } from '../policies/cloudwatch-agent';
import { podIdentityPrincipal } from '../policies/pod-identity-principal';


/** A Kubernetes toleration, as the add-on's configuration values spell it. */
export interface Toleration {
  readonly key?: string;
  readonly operator: 'Exists' | 'Equal';
  readonly value?: string;
  readonly effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

/** Props of the CloudWatch Observability add-on; every field defaults as documented. */
export interface CloudWatchObservabilityAddOnProps {
  /** EKS managed add-on version (lib/versions.ts MANAGED_ADDON_VERSIONS); Pod Identity needs v3.1.0 or later. */
  readonly version: string;
  /** The cluster's name, as configured: the agent role's log groups and trust are scoped to it. */
  readonly clusterName: string;
  /**
   * Tolerations of every DaemonSet of the add-on (agent, DCGM exporter, Neuron monitor, Fluent Bit). GPU nodes carry
   * the GPU taint and, until their first model sync, the startup taint; GPU metrics must flow during that sync too.
   * @default tolerate every taint (the chart's own default, written out so a changed default cannot drop GPU nodes)
   */
  readonly tolerations?: readonly Toleration[];
  /**
   * Ship container, host and dataplane logs with Fluent Bit (CloudWatch Logs ingestion is billed per GB).
   * @default true
   */
  readonly containerLogs?: boolean;
}

/**
 * CPU and memory the add-on's node agents request. The chart asks 250m CPU each for the agent and the DCGM exporter:
 * on a 4-vCPU GPU node (g4dn.xlarge, g5.xlarge) the single-GPU ComfyUI pod requests 3 CPUs, and 500m more of
 * DaemonSets would leave it Pending or make Karpenter pick the next size up. Requests are what the scheduler
 * reserves; both use less at rest and may burst to the chart's limits.
 */
const NODE_AGENT_REQUESTS = { cpu: '50m', memory: '128Mi' } as const;

const defaults = {
  tolerations: [{ operator: 'Exists' }] as readonly Toleration[],
  containerLogs: true,
};

/**
 * The Amazon CloudWatch Observability EKS add-on (`amazon-cloudwatch-observability`): Container Insights with
 * enhanced observability, whose DCGM exporter gives the dashboard its `node_gpu_*` metrics, and Fluent Bit for
 * container logs (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/install-CloudWatch-Observability-EKS-addon.html).
 *
 * eks-blueprints' `CloudWatchInsights` add-on installs the same EKS add-on, but gives its service account
 * CloudWatchAgentServerPolicy and AWSXrayWriteOnlyAccess through IRSA and creates the service account itself with
 * kubectl. Here instead: EKS Pod Identity (the add-on supports it from v3.1.0, and AWS recommends it), associated by
 * the add-on itself (`podIdentityAssociations`: EKS owns the service account), with a role that may write only this
 * cluster's Container Insights log groups (lib/policies/cloudwatch-agent.ts); and Application Signals left out of the
 * agent's configuration, so neither X-Ray nor its auto-instrumentation is needed. Beside it, one agent that scrapes
 * the ComfyUI pods' `/metrics` for the dashboard's prompt widgets (ComfyuiMetricsScraper).
 */
export class CloudWatchObservabilityAddOn implements blueprints.ClusterAddOn {
  private readonly options: Required<CloudWatchObservabilityAddOnProps>;

  constructor(props: CloudWatchObservabilityAddOnProps) {
    this.options = { ...defaults, ...props };
  }

  /** The add-on's configuration values (its Helm chart's values, validated by EKS against the add-on's schema). */
  configurationValues(): Record<string, unknown> {
    const resources = { requests: { ...NODE_AGENT_REQUESTS } };
    return {
      tolerations: this.options.tolerations,
      containerLogs: { enabled: this.options.containerLogs },
      agent: {
        // Replaces the chart's default config, which also enables Application Signals (traces to X-Ray).
        config: { logs: { metrics_collected: { kubernetes: { enhanced_container_insights: true, accelerated_compute_metrics: true } } } },
        resources,
      },
      dcgmExporter: { resources },
    };
  }

  deploy(clusterInfo: blueprints.ClusterInfo): Promise<Construct> {
    const cluster = clusterInfo.cluster;
    const stack = Stack.of(cluster);
    const role = new iam.Role(stack, 'CloudWatchAgentRole', {
      description: `CloudWatch agent and Fluent Bit of ${this.options.clusterName}: its Container Insights log groups only`,
      assumedBy: podIdentityPrincipal({
        clusterName: this.options.clusterName,
        namespace: CLOUDWATCH_OBSERVABILITY_NAMESPACE,
        serviceAccount: CLOUDWATCH_AGENT_SERVICE_ACCOUNT,
      }),
      inlinePolicies: {
        ContainerInsights: new iam.PolicyDocument({
          statements: cloudWatchAgentStatements({
            logsArnPrefix: `arn:${stack.partition}:logs:${stack.region}:${stack.account}`,
            clusterName: this.options.clusterName,
          }),
        }),
      },
    });
    const addOn = new eks.CfnAddon(stack, 'amazon-cloudwatch-observability-addOn', {
      addonName: 'amazon-cloudwatch-observability',
      addonVersion: this.options.version,
      clusterName: cluster.clusterName,
      resolveConflicts: 'OVERWRITE',
      configurationValues: JSON.stringify(this.configurationValues()),
      podIdentityAssociations: [{ serviceAccount: CLOUDWATCH_AGENT_SERVICE_ACCOUNT, roleArn: role.roleArn }],
    });
    new ComfyuiMetricsScraper(stack, 'ComfyuiMetricsScraper', { cluster, clusterName: this.options.clusterName, after: addOn });
    return Promise.resolve(addOn);
  }
}

/** Whether a toleration list lets a pod onto a node with this taint (Kubernetes' matching rules). */
export function tolerates(tolerations: readonly Toleration[], taint: { key: string; value?: string; effect: string }): boolean {
  return tolerations.some(
    (t) =>
      (t.effect === undefined || t.effect === taint.effect) &&
      (t.key === undefined ? t.operator === 'Exists' : t.key === taint.key && (t.operator === 'Exists' || t.value === taint.value)),
  );
}
