import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as eks from 'aws-cdk-lib/aws-eks';
import { beforeAll, describe, expect, test } from 'vitest';
import { KedaAccess } from '../../lib/constructs/keda-access';
import { jobsQueueName, KEDA_NAMESPACE, KEDA_OPERATOR_SERVICE_ACCOUNT, STACK_NAMES, SYSTEM_NODE_LABEL, wakeQueueName } from '../../lib/names';
import { HELM_CHART_VERSIONS } from '../../lib/versions';
import { SynthesizedApp, synthApp } from '../helpers/synth-app';

type Resource = { Type: string; Properties?: any; DependsOn?: string[] | string };
type Resources = Record<string, Resource>;
const ofType = (resources: Resources, type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const dependsOn = (r: Resource): string[] => (r.DependsOn === undefined ? [] : ([] as string[]).concat(r.DependsOn));
/** `arn:${Partition}...` joins resolved to `arn:aws...`, as IAM sees them in the commercial partition. */
const resolvePartition = <T>(value: T): T =>
  JSON.parse(JSON.stringify(value).replace(/\{"Fn::Join":\["",\["arn:",\{"Ref":"AWS::Partition"\},"([^"]*)"\]\]\}/g, '"arn:aws$1"'));
const kedaCharts = (resources: Resources) => ofType(resources, 'Custom::AWSCDK-EKS-HelmChart').filter(([, c]) => c.Properties.Chart === 'keda');
const kedaAssociations = (resources: Resources) =>
  ofType(resources, 'AWS::EKS::PodIdentityAssociation').filter(([, a]) => a.Properties.Namespace === KEDA_NAMESPACE);

const ACCOUNT = '123456789012';
const REGION = 'us-west-2';

describe('KedaAccess in a bare stack', () => {
  let template: Template;
  beforeAll(() => {
    const stack = new Stack(new App(), 'Test', { env: { account: ACCOUNT, region: REGION } });
    const cluster = eks.Cluster.fromClusterAttributes(stack, 'Cluster', { clusterName: 'studio' });
    new KedaAccess(stack, 'KedaAccess', { cluster, queueNames: ['studio-jobs', 'studio-wake'] });
    template = Template.fromStack(stack);
  });

  test('the role may only read the depth of the two named queues: sqs:GetQueueAttributes on their ARNs', () => {
    const [role] = Object.values(template.findResources('AWS::IAM::Role')) as any[];
    const statements = resolvePartition(role.Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement));
    expect(statements).toEqual([
      {
        Sid: 'ReadQueueDepth',
        Effect: 'Allow',
        Action: 'sqs:GetQueueAttributes',
        Resource: [`arn:aws:sqs:${REGION}:${ACCOUNT}:studio-jobs`, `arn:aws:sqs:${REGION}:${ACCOUNT}:studio-wake`],
      },
    ]);
    expect(template.findResources('AWS::IAM::Policy')).toEqual({});
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });

  test("only EKS Pod Identity may assume it, for keda/keda-operator of this cluster", () => {
    const [role] = Object.values(template.findResources('AWS::IAM::Role')) as any[];
    const [trust] = role.Properties.AssumeRolePolicyDocument.Statement;
    expect(trust.Principal).toEqual({ Service: 'pods.eks.amazonaws.com' });
    expect([...trust.Action].sort()).toEqual(['sts:AssumeRole', 'sts:TagSession']);
    const conditions = JSON.stringify(trust.Condition);
    for (const value of ['studio', KEDA_NAMESPACE, KEDA_OPERATOR_SERVICE_ACCOUNT]) expect(conditions).toContain(`"${value}"`);
  });

  test("the association names KEDA's operator service account and keeps the session tags the trust reads", () => {
    template.hasResourceProperties('AWS::EKS::PodIdentityAssociation', {
      ClusterName: 'studio',
      Namespace: KEDA_NAMESPACE,
      ServiceAccount: KEDA_OPERATOR_SERVICE_ACCOUNT,
      DisableSessionTags: false,
    });
  });
});

describe('KEDA in the app with autoscaling on (the default)', () => {
  let app: SynthesizedApp;
  let cluster: Resources;
  beforeAll(async () => {
    app = await synthApp();
    cluster = app.templates[STACK_NAMES.cluster].toJSON().Resources;
  });

  test('the KEDA chart is the pinned release from kedacore, on the system nodes, with the chart-made operator service account', () => {
    const charts = kedaCharts(cluster);
    expect(charts).toHaveLength(1);
    const [[, chart]] = charts;
    expect(chart.Properties).toMatchObject({
      Repository: 'https://kedacore.github.io/charts',
      Version: HELM_CHART_VERSIONS.keda,
      Namespace: KEDA_NAMESPACE,
      Release: 'keda',
    });
    const values = JSON.parse(chart.Properties.Values);
    // The top-level nodeSelector is the default of the operator, the metrics server and the webhooks (chart 2.20.2).
    expect(values.nodeSelector).toEqual({ [SYSTEM_NODE_LABEL.key]: SYSTEM_NODE_LABEL.value });
    for (const component of ['operator', 'metricsServer', 'webhooks']) expect(values[component]?.nodeSelector, component).toBeUndefined();
    expect(values.serviceAccount.operator).toEqual({ create: true, name: KEDA_OPERATOR_SERVICE_ACCOUNT });
    // No IRSA service account from the add-on (its irsaRoles take only AWS managed policies).
    expect(JSON.stringify(cluster)).not.toContain(`system:serviceaccount:${KEDA_NAMESPACE}:`);
  });

  test("the chart installs after the operator's Pod Identity association, whose role reads only the jobs and wake queues", () => {
    const associations = kedaAssociations(cluster);
    expect(associations).toHaveLength(1);
    const [[associationId, association]] = associations;
    expect(association.Properties).toMatchObject({ Namespace: KEDA_NAMESPACE, ServiceAccount: KEDA_OPERATOR_SERVICE_ACCOUNT });
    const [[, chart]] = kedaCharts(cluster);
    expect(dependsOn(chart)).toContain(associationId);

    const roleId = association.Properties.RoleArn['Fn::GetAtt'][0];
    const statements = resolvePartition(cluster[roleId].Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement));
    const { clusterName } = app.stacks.cluster.config;
    expect(statements).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Action: 'sqs:GetQueueAttributes',
        Resource: [jobsQueueName(clusterName), wakeQueueName(clusterName)].map((name) => `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`),
      }),
    ]);
  });

  test('cdk-nag finds nothing left in the app with KEDA', () => {
    expect(app.nagViolations).toEqual([]);
  });

  test('the jobs queue has the fixed name the KEDA role and the ScaledObject name', () => {
    const jobs = app.templates[STACK_NAMES.jobs].toJSON().Resources as Resources;
    const names = ofType(jobs, 'AWS::SQS::Queue').map(([, q]) => q.Properties.QueueName).filter(Boolean);
    expect(names).toEqual([jobsQueueName(app.stacks.cluster.config.clusterName)]);
  });
});

describe('autoscaling=false', () => {
  test('installs no KEDA and makes no KEDA role', async () => {
    const app = await synthApp({ autoscaling: 'false' });
    const cluster = app.templates[STACK_NAMES.cluster].toJSON().Resources as Resources;
    expect(kedaCharts(cluster)).toEqual([]);
    expect(kedaAssociations(cluster)).toEqual([]);
    const kedaRoles = ofType(cluster, 'AWS::IAM::Role').filter(([, r]) => JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes(`"${KEDA_NAMESPACE}"`));
    expect(kedaRoles).toEqual([]);
    expect(app.nagViolations).toEqual([]);
  });
});

test("KEDA's CRDs (tools/manifest-tools.txt) come from the release of its Helm chart", () => {
  const pins = fs.readFileSync(path.join(__dirname, '..', '..', 'tools', 'manifest-tools.txt'), 'utf8');
  expect(pins).toMatch(new RegExp(`^crd-module github\\.com/kedacore/keda/v2@v${HELM_CHART_VERSIONS.keda.replace(/\./g, '\\.')} h1:\\S+ config/crd$`, 'm'));
});
