import * as fs from 'fs';
import * as path from 'path';
import { beforeAll, describe, expect, test } from 'vitest';
import { Template } from 'aws-cdk-lib/assertions';
import { parse as parseYaml } from 'yaml';
import { METRICS_SCRAPER, scraperAgentConfig, scraperPrometheusConfig } from '../../lib/constructs/comfyui-metrics-scraper';
import { COMFYUI_NAMESPACE, COMFYUI_PROMETHEUS_METRICS, STACK_NAMES, SYSTEM_NODE_LABEL } from '../../lib/names';
import { CLOUDWATCH_AGENT_IMAGE } from '../../lib/versions';
import { SynthesizedApp, synthApp } from '../helpers/synth-app';

interface Declaration { source_labels: string[]; label_matcher: string; dimensions: string[][]; metric_selectors: string[] }

function declarations(): Declaration[] {
  const config = scraperAgentConfig('studio', 'eu-west-1') as any;
  return config.logs.metrics_collected.prometheus.emf_processor.metric_declaration;
}

/** The scraper's Kubernetes objects, from the cluster stack's manifest resource. */
function scraperObjects(template: Template): any[] {
  const manifests = Object.values(template.findResources('Custom::AWSCDK-EKS-KubernetesResource')) as any[];
  const found = manifests.map((m) => JSON.stringify(m.Properties.Manifest)).find((text) => text.includes(METRICS_SCRAPER.name));
  if (!found) throw new Error('no scraper manifest in the cluster stack');
  // The manifest is a Fn::Join of strings and tokens; the tokens (the region) are not what these tests read.
  const joined = JSON.parse(found);
  const text = typeof joined === 'string' ? joined : joined['Fn::Join'][1].map((p: unknown) => (typeof p === 'string' ? p : 'TOKEN')).join('');
  return JSON.parse(text);
}

describe('ComfyUI metrics scraper: the series the dashboard reads', () => {
  let app: SynthesizedApp;
  beforeAll(async () => {
    app = await synthApp({});
  }, 240_000);

  test('every ComfyUI series the dashboard searches is declared with exactly the dimensions its search names', () => {
    const body = JSON.stringify(app.templates[STACK_NAMES.operations].toJSON());
    const searches = [...body.matchAll(/SEARCH\('\{([^,}]+),([^}]*)\} MetricName=\\+"(\w+)\\+"/g)]
      .filter((m) => m[1] === COMFYUI_PROMETHEUS_METRICS.namespace)
      .map((m) => ({ dimensions: m[2].split(','), metric: m[3] }));
    expect(searches.map((s) => s.metric).sort()).toEqual(expect.arrayContaining(['comfyui_gpu_oom_total', 'comfyui_gpu_prompts_total', 'comfyui_gpu_queue_depth']));
    for (const search of searches) {
      const declared = declarations().filter((d) => d.metric_selectors.some((s) => new RegExp(s).test(search.metric)));
      expect(declared, search.metric).not.toHaveLength(0);
      expect(declared.flatMap((d) => d.dimensions).map((set) => [...set].sort()), search.metric).toContainEqual([...search.dimensions].sort());
    }
    const config = scraperAgentConfig('studio', 'eu-west-1') as any;
    expect(config.logs.metrics_collected.prometheus.emf_processor.metric_namespace).toBe(COMFYUI_PROMETHEUS_METRICS.namespace);
  });

  test('it scrapes only the ComfyUI pods, on their http port, and labels them with Namespace and PodName', () => {
    const job = (scraperPrometheusConfig() as any).scrape_configs[0];
    expect(job.kubernetes_sd_configs).toEqual([{ role: 'pod', namespaces: { names: [COMFYUI_NAMESPACE] } }]);
    expect(job.metrics_path).toBe('/metrics');
    const targets = job.relabel_configs.map((r: any) => r.target_label).filter(Boolean);
    expect(targets).toEqual(['Namespace', 'PodName']);
    expect(declarations().every((d) => d.label_matcher === `^${job.job_name}$`)).toBe(true);
  });

  test('it runs on the pod network on a system node, with the pinned agent, as the service account its role trusts', () => {
    const objects = scraperObjects(app.templates[STACK_NAMES.cluster]);
    const deployment = objects.find((o) => o.kind === 'Deployment');
    expect(deployment.metadata).toMatchObject({ name: METRICS_SCRAPER.name, namespace: METRICS_SCRAPER.namespace });
    const pod = deployment.spec.template.spec;
    expect(pod.hostNetwork).toBeUndefined();
    expect(pod.nodeSelector).toEqual({ [SYSTEM_NODE_LABEL.key]: SYSTEM_NODE_LABEL.value });
    expect(pod.containers[0].image).toBe(CLOUDWATCH_AGENT_IMAGE);
    expect(deployment.spec.template.metadata.labels['app.kubernetes.io/name']).toBe(METRICS_SCRAPER.name);
    const rules = objects.find((o) => o.kind === 'ClusterRole').rules;
    expect(rules).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }]);

    const cluster = app.templates[STACK_NAMES.cluster];
    cluster.hasResourceProperties('AWS::EKS::PodIdentityAssociation', { Namespace: METRICS_SCRAPER.namespace, ServiceAccount: METRICS_SCRAPER.name });
    const roles = cluster.findResources('AWS::IAM::Role');
    const role = Object.entries(roles).find(([id]) => id.startsWith('ComfyuiMetricsScraperRole'))![1] as any;
    const statements = role.Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement);
    expect(statements.flatMap((s: any) => [s.Action].flat()).sort()).toEqual(['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents']);
    expect(JSON.stringify(statements)).toContain(`:log-group:/aws/containerinsights/${app.stacks.cluster.config.clusterName}/prometheus`);
  });

  test('the ComfyUI pods admit exactly that pod to their port (metrics-scrape-policy.yaml)', () => {
    const file = path.join(__dirname, '..', '..', 'manifests', 'base', 'metrics-scrape-policy.yaml');
    const policy = parseYaml(fs.readFileSync(file, 'utf8').replace('{{ comfyuiPort }}', '8188'));
    expect(policy.spec.podSelector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'comfyui' });
    expect(policy.spec.policyTypes).toEqual(['Ingress']);
    expect(policy.spec.ingress).toEqual([{
      from: [{
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': METRICS_SCRAPER.namespace } },
        podSelector: { matchLabels: { 'app.kubernetes.io/name': METRICS_SCRAPER.name } },
      }],
      ports: [{ port: 8188, protocol: 'TCP' }],
    }]);
    const kustomization = fs.readFileSync(path.join(path.dirname(file), 'kustomization.yaml'), 'utf8');
    expect(kustomization).toMatch(/^ {2}- metrics-scrape-policy\.yaml$/m);
  });
});
