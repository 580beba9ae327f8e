import { beforeAll, describe, expect, test } from 'vitest';
import { Template } from 'aws-cdk-lib/assertions';
import { tolerates, Toleration } from '../../lib/addons/cloudwatch-observability';
import { GPU_TAINT_KEY, MODELS_READY_TAINT_KEY, STACK_NAMES } from '../../lib/names';
import { MANAGED_ADDON_VERSIONS } from '../../lib/versions';
import { SynthesizedApp, synthApp } from '../helpers/synth-app';

const ADDON = 'amazon-cloudwatch-observability';

function addOnOf(template: Template): { Properties: Record<string, any> } | undefined {
  const found = Object.values(template.findResources('AWS::EKS::Addon')).filter((r: any) => r.Properties.AddonName === ADDON);
  return found[0] as { Properties: Record<string, any> } | undefined;
}

function agentRoleOf(template: Template): Record<string, any> {
  const roles = template.findResources('AWS::IAM::Role');
  const id = Object.keys(roles).find((key) => key.startsWith('CloudWatchAgentRole'));
  if (!id) throw new Error('no CloudWatchAgentRole in the cluster stack');
  return roles[id].Properties;
}

describe('CloudWatch Observability add-on (config operations)', () => {
  let app: SynthesizedApp;
  let cluster: Template;
  beforeAll(async () => {
    app = await synthApp({});
    cluster = app.templates[STACK_NAMES.cluster];
  }, 240_000);

  test('is installed at the version pinned for the cluster Kubernetes version', () => {
    const addOn = addOnOf(cluster);
    expect(addOn?.Properties.AddonVersion).toBe(MANAGED_ADDON_VERSIONS[app.stacks.cluster.config.kubernetesVersion].cloudwatchObservability);
  });

  test('every DaemonSet of it tolerates the GPU taint and the models-not-ready startup taint', () => {
    const values = JSON.parse(addOnOf(cluster)!.Properties.ConfigurationValues);
    const tolerations: Toleration[] = values.tolerations;
    for (const key of [GPU_TAINT_KEY, MODELS_READY_TAINT_KEY]) {
      expect(tolerates(tolerations, { key, value: 'true', effect: 'NoSchedule' })).toBe(true);
    }
    // No component overrides the root tolerations (the chart lets agent, dcgmExporter, neuronMonitor, fluentBit do so).
    for (const component of [values.agent, values.dcgmExporter, values.neuronMonitor, values.containerLogs?.fluentBit]) {
      expect(component?.tolerations).toBeUndefined();
    }
  });

  test('the agent runs Container Insights with GPU metrics and without Application Signals, so it needs no X-Ray', () => {
    const values = JSON.parse(addOnOf(cluster)!.Properties.ConfigurationValues);
    expect(values.agent.config.logs.metrics_collected.kubernetes).toEqual({ enhanced_container_insights: true, accelerated_compute_metrics: true });
    expect(JSON.stringify(values.agent.config)).not.toContain('application_signals');
    expect(values.agent.config.traces).toBeUndefined();
  });

  test('its service account gets a Pod Identity role that may only write this cluster\'s Container Insights logs', () => {
    const addOn = addOnOf(cluster)!;
    expect(addOn.Properties.PodIdentityAssociations).toHaveLength(1);
    expect(addOn.Properties.PodIdentityAssociations[0].ServiceAccount).toBe('cloudwatch-agent');
    expect(addOn.Properties.ServiceAccountRoleArn).toBeUndefined();

    const role = agentRoleOf(cluster);
    expect(role.ManagedPolicyArns ?? []).toEqual([]);
    const trust = role.AssumeRolePolicyDocument.Statement;
    expect(trust.every((s: any) => s.Principal.Service === 'pods.eks.amazonaws.com')).toBe(true);
    expect(trust[0].Condition.StringEquals['aws:RequestTag/kubernetes-service-account']).toBe('cloudwatch-agent');

    const statements = role.Policies.flatMap((p: any) => p.PolicyDocument.Statement);
    const actions = statements.flatMap((s: any) => [s.Action].flat()).sort();
    expect(actions).toEqual([
      'ec2:DescribeTags', 'ec2:DescribeVolumes',
      'logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents',
    ]);
    const clusterName = app.stacks.cluster.config.clusterName;
    for (const s of statements.filter((s: any) => [s.Action].flat().some((a: string) => a.startsWith('logs:')))) {
      expect(JSON.stringify(s.Resource)).toContain(`:log-group:/aws/containerinsights/${clusterName}/*`);
    }
  });

  test('no node role gains a CloudWatch policy', () => {
    const text = JSON.stringify(cluster.toJSON());
    expect(text).not.toContain('CloudWatchAgentServerPolicy');
    expect(text).not.toContain('AWSXrayWriteOnlyAccess');
  });

  test('leaves no cdk-nag finding unacknowledged on its roles (the agent\'s and the metrics scraper\'s)', () => {
    const left = app.nagViolations.filter((v) => v.resources.some((r) => r.includes('CloudWatchAgentRole') || r.includes('ComfyuiMetricsScraper')));
    expect(left).toEqual([]);
  });

  test('is absent with operations off', async () => {
    const off = await synthApp({ operations: 'false' });
    expect(addOnOf(off.templates[STACK_NAMES.cluster])).toBeUndefined();
  }, 240_000);
});

describe('tolerates (Kubernetes toleration matching)', () => {
  const gpu = { key: GPU_TAINT_KEY, value: 'true', effect: 'NoSchedule' };
  test('an empty key with Exists tolerates every taint', () => {
    expect(tolerates([{ operator: 'Exists' }], gpu)).toBe(true);
  });
  test('a toleration of another key or effect does not', () => {
    expect(tolerates([{ key: 'other', operator: 'Exists' }], gpu)).toBe(false);
    expect(tolerates([{ key: GPU_TAINT_KEY, operator: 'Exists', effect: 'NoExecute' }], gpu)).toBe(false);
    expect(tolerates([{ key: GPU_TAINT_KEY, operator: 'Equal', value: 'false' }], gpu)).toBe(false);
  });
});
