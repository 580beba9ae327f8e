import * as fs from 'fs';
import * as path from 'path';
import { beforeAll, describe, expect, test } from 'vitest';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AppConfig, loadConfig } from '../../lib/config';
import { MODEL_SYNC_DONE_LINE, MODEL_SYNC_FAILED_LINE } from '../../lib/constructs/operations-sync-metrics';
import { modelSyncLogGroupName, operationsDashboardName, STACK_NAMES } from '../../lib/names';
import { OperationsEdgeStack } from '../../lib/stacks/operations-edge-stack';
import { OperationsSources, OperationsStack } from '../../lib/stacks/operations-stack';
import { synthApp } from '../helpers/synth-app';

const ROOT = path.join(__dirname, '..', '..');
const env = { account: '123456789012', region: 'us-west-2' };

/** A stack standing in for the watched ones: queues, a function and a distribution id. */
function watchedResources(app: App, withJobs: boolean): OperationsSources {
  const owner = new Stack(app, 'Watched', { env });
  const queue = (id: string) => new sqs.Queue(owner, id, { enforceSSL: true });
  const fn = new lambda.Function(owner, 'Fn', {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => undefined;'),
  });
  return {
    modelSyncDeadLetterQueue: queue('ModelSyncDlq'),
    functions: { 'Model sync': fn },
    jobs: withJobs ? { queue: queue('Jobs'), deadLetterQueue: queue('JobsDlq'), webhookDeadLetterQueue: queue('WebhookDlq') } : undefined,
    distributionId: 'E2EXAMPLE',
  };
}

function build(context: Record<string, unknown> = {}, withJobs = true) {
  const app = new App();
  const config: AppConfig = loadConfig((key) => context[key]);
  const home = new OperationsStack(app, 'Ops', { env, config, sources: watchedResources(app, withJobs) });
  const edge = new OperationsEdgeStack(app, 'OpsEdge', { env: { ...env, region: 'us-east-1' }, config, distributionId: 'E2EXAMPLE' });
  return { app, config, home, edge, template: Template.fromStack(home), edgeTemplate: Template.fromStack(edge) };
}

/** The one alarm whose id in the stack starts with `prefix`. */
function alarm(template: Template, prefix: string): Record<string, any> {
  const alarms = Object.entries(template.findResources('AWS::CloudWatch::Alarm')).filter(([id]) => id.startsWith(prefix));
  expect(alarms.map(([id]) => id)).toHaveLength(1);
  return alarms[0][1].Properties;
}

describe('ComfyuiOperations alarms', () => {
  let template: Template;
  beforeAll(() => {
    template = build().template;
  });

  test('every alarm notifies the one alarm topic', () => {
    const topics = Object.keys(template.findResources('AWS::SNS::Topic'));
    expect(topics).toHaveLength(1);
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBe(7);
    for (const a of alarms) expect(a.Properties.AlarmActions).toEqual([{ Ref: topics[0] }]);
  });

  test.each([
    ['AlarmsModelSyncDeadLetters', 'ModelSyncDlq', 1],
    ['AlarmsWebhookRetriesDeadLetters', 'WebhookDlq', 1],
    ['AlarmsJobsDeadLetters', 'JobsDlq', 3],
  ])('%s: a message visible in the dead-letter queue for every minute of %s periods', (id, queueId, periods) => {
    const props = alarm(template, id);
    expect(props).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Statistic: 'Minimum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: periods,
      DatapointsToAlarm: periods,
      TreatMissingData: 'notBreaching',
    });
    expect(JSON.stringify(props.Dimensions)).toContain(queueId);
  });

  test('model sync failures: any FAILED run in 5 minutes, counted by the metric filter', () => {
    expect(alarm(template, 'AlarmsModelSyncFailures')).toMatchObject({
      Namespace: 'ComfyUI/comfyui/ModelSync',
      MetricName: 'SyncRunsFailed',
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  test('a node failing a condition for 15 minutes, INSUFFICIENT_DATA while Container Insights is silent', () => {
    expect(alarm(template, 'AlarmsNodeNotReady')).toMatchObject({
      Namespace: 'ContainerInsights',
      MetricName: 'cluster_failed_node_count',
      Dimensions: [{ Name: 'ClusterName', Value: 'comfyui' }],
      Statistic: 'Minimum',
      Period: 300,
      Threshold: 1,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: 'missing',
    });
  });

  test('jobs older than jobAgeAlarmMinutes, in seconds', () => {
    expect(alarm(template, 'AlarmsJobAge')).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Statistic: 'Maximum',
      Period: 300,
      Threshold: 3600,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(alarm(build({ jobAgeAlarmMinutes: 240 }).template, 'AlarmsJobAge').Threshold).toBe(240 * 60);
  });

  test('GPU node-hours: the day\'s mean node count less the system nodes, times 24, above the budget', () => {
    const props = alarm(build({ gpuNodeHoursDailyBudget: 72, systemNodeCount: 3 }).template, 'AlarmsGpuNodeHoursBudget');
    expect(props).toMatchObject({ Threshold: 72, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 1, TreatMissingData: 'notBreaching' });
    const expression = props.Metrics.find((m: any) => m.Expression);
    const nodes = props.Metrics.find((m: any) => m.MetricStat);
    expect(expression.Expression).toBe(`(${nodes.Id} - 3) * 24`);
    expect(nodes.MetricStat).toMatchObject({
      Metric: { Namespace: 'ContainerInsights', MetricName: 'cluster_node_count', Dimensions: [{ Name: 'ClusterName', Value: 'comfyui' }] },
      Stat: 'Average',
      Period: 86400,
    });
  });

  test('without the jobs stack: no job-age alarm and only the model-sync dead-letter queue', () => {
    const ids = Object.keys(build({}, false).template.findResources('AWS::CloudWatch::Alarm'));
    expect(ids.some((id) => id.startsWith('AlarmsJobAge'))).toBe(false);
    expect(ids.filter((id) => id.includes('DeadLetters'))).toEqual([expect.stringMatching(/^AlarmsModelSyncDeadLetters/)]);
  });
});

describe('the alarm topics', () => {
  test.each([['home', 'template'], ['edge', 'edgeTemplate']] as const)('%s: KMS-encrypted with a rotating key CloudWatch may use, TLS only, published to only by this account\'s alarms', (_, which) => {
    const template = build()[which];
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({
        Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      })]) },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([
        Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        Match.objectLike({
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: 'sns:Publish',
          Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' }, ArnLike: { 'aws:SourceArn': Match.anyValue() } },
        }),
      ]) },
    });
  });

  test('subscribe the email only when alarmEmail is set, in both regions', () => {
    const without = build();
    without.template.resourceCountIs('AWS::SNS::Subscription', 0);
    without.edgeTemplate.resourceCountIs('AWS::SNS::Subscription', 0);
    const withEmail = build({ alarmEmail: 'ops@example.com' });
    for (const t of [withEmail.template, withEmail.edgeTemplate]) {
      t.resourceCountIs('AWS::SNS::Subscription', 1);
      t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    }
  });
});

describe('ComfyuiOperationsEdge (us-east-1)', () => {
  test('alarms on CloudFront\'s 5xx rate above 5 % for two 5-minute periods', () => {
    const { edge, edgeTemplate } = build();
    expect(edge.region).toBe('us-east-1');
    expect(alarm(edgeTemplate, 'AlarmsServerErrorRate')).toMatchObject({
      Namespace: 'AWS/CloudFront',
      MetricName: '5xxErrorRate',
      Dimensions: expect.arrayContaining([{ Name: 'DistributionId', Value: 'E2EXAMPLE' }, { Name: 'Region', Value: 'Global' }]),
      Statistic: 'Average',
      Period: 300,
      Threshold: 5,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
    });
  });

  test('turns on the additional metrics (origin latency) only with cloudFrontAdditionalMetrics, and then draws them', () => {
    build().edgeTemplate.resourceCountIs('AWS::CloudFront::MonitoringSubscription', 0);
    expect(dashboardBody(build().template)).not.toContain('OriginLatency');
    const on = build({ cloudFrontAdditionalMetrics: true });
    on.edgeTemplate.hasResourceProperties('AWS::CloudFront::MonitoringSubscription', {
      DistributionId: 'E2EXAMPLE',
      MonitoringSubscription: { RealtimeMetricsSubscriptionConfig: { RealtimeMetricsSubscriptionStatus: 'Enabled' } },
    });
    expect(dashboardBody(on.template)).toContain('OriginLatency');
  });
});

/** The dashboard body with its Fn::Join flattened (tokens become their JSON). */
function dashboardBody(template: Template): string {
  const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  const body = dashboard.Properties.DashboardBody;
  return typeof body === 'string' ? body : body['Fn::Join'][1].map((p: unknown) => (typeof p === 'string' ? p : JSON.stringify(p))).join('');
}

/** Prometheus series names the multi-GPU package exposes, as the CloudWatch agent names them. */
function exposedSeries(): string[] {
  const source = fs.readFileSync(path.join(ROOT, 'comfyui_image', 'multigpu', 'core', 'metrics.py'), 'utf8');
  return [...source.matchAll(/(Counter|Gauge|Histogram)\(\s*"([a-z_]+)"/g)].flatMap(([, kind, name]) =>
    kind === 'Counter' ? [`${name}_total`] : kind === 'Histogram' ? [`${name}_sum`, `${name}_count`] : [name]);
}

describe('the dashboard', () => {
  let body: string;
  beforeAll(() => {
    body = dashboardBody(build().template);
  });

  test('is named after the cluster', () => {
    build().template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: operationsDashboardName('comfyui') });
  });

  test('draws GPU utilization and memory per node from Container Insights, found by search', () => {
    for (const metric of ['node_gpu_utilization', 'node_gpu_memory_utilization']) {
      expect(body).toContain(`SEARCH('{ContainerInsights,ClusterName,InstanceId,NodeName} MetricName=\\"${metric}\\" ClusterName=\\"comfyui\\"', 'Average', 60)`);
    }
  });

  test('reads only /metrics series that comfyui_image/multigpu/core/metrics.py exposes', () => {
    const used = [...body.matchAll(/MetricName=\\"(comfyui_[a-z_]+)\\"/g)].map((m) => m[1]);
    expect(new Set(used)).toEqual(new Set([
      'comfyui_gpu_queue_depth', 'comfyui_gpu_queue_wait_seconds_sum', 'comfyui_gpu_queue_wait_seconds_count',
      'comfyui_gpu_prompts_total', 'comfyui_gpu_oom_total',
    ]));
    const exposed = exposedSeries();
    for (const name of used) expect(exposed).toContain(name);
  });

  test('draws the jobs backlog and age, the dead-letter queues, sync runs, Lambda errors and CloudFront from us-east-1', () => {
    for (const text of ['ApproximateNumberOfMessagesVisible', 'ApproximateAgeOfOldestMessage', 'SyncRunsFailed', 'SyncRunsSucceeded', '"Errors"', '5xxErrorRate', '4xxErrorRate']) {
      expect(body).toContain(text);
    }
    expect(body).toMatch(/"AWS\/CloudFront","5xxErrorRate","DistributionId","E2EXAMPLE","Region","Global",\{[^}]*"region":"us-east-1"/);
  });
});

describe('model-sync run metrics', () => {
  test('count the last line of every sync run, as model_sync writes it', () => {
    const log = fs.readFileSync(path.join(ROOT, 'lambda', 'model-sync', 'node', 'model_sync', 'log.py'), 'utf8');
    const cli = fs.readFileSync(path.join(ROOT, 'lambda', 'model-sync', 'node', 'model_sync', 'cli.py'), 'utf8');
    const prefix = /^PREFIX = "(.*)"$/m.exec(log)?.[1];
    expect(`${prefix}done:`).toBe(MODEL_SYNC_DONE_LINE);
    expect(`${prefix}FAILED:`).toBe(MODEL_SYNC_FAILED_LINE);
    expect(cli).toContain('log("done: "');
    expect(cli).toContain('log("FAILED: ');
    const template = build().template;
    for (const [metric, line] of [['SyncRunsSucceeded', MODEL_SYNC_DONE_LINE], ['SyncRunsFailed', MODEL_SYNC_FAILED_LINE]]) {
      template.hasResourceProperties('AWS::Logs::MetricFilter', {
        LogGroupName: modelSyncLogGroupName('comfyui'),
        FilterPattern: `"${line}"`,
        MetricTransformations: [{ MetricNamespace: 'ComfyUI/comfyui/ModelSync', MetricName: metric, MetricValue: '1' }],
      });
    }
  });
});

describe('in the composed app (every option on)', () => {
  test('cdk-nag finds nothing; the stacks watch the real queues, functions and distribution', async () => {
    const app = await synthApp({ alarmEmail: 'ops@example.com', cloudFrontAdditionalMetrics: true });
    expect(app.nagViolations).toEqual([]);
    const home = app.templates[STACK_NAMES.operations];
    const alarms = Object.keys(home.findResources('AWS::CloudWatch::Alarm'));
    for (const id of ['ModelSyncDeadLetters', 'JobsDeadLetters', 'WebhookRetriesDeadLetters', 'JobAge', 'NodeNotReady', 'GpuNodeHoursBudget', 'ModelSyncFailures']) {
      expect(alarms.some((a) => a.startsWith(`Alarms${id}`))).toBe(true);
    }
    expect(JSON.stringify(home.toJSON())).toContain(`${STACK_NAMES.modelsSync}:ExportsOutput`);
    // Wherever the app has a jobs stack, its queues are watched too.
    expect(JSON.stringify(home.toJSON()).includes(`${STACK_NAMES.jobs}:ExportsOutput`)).toBe(STACK_NAMES.jobs in app.templates);
    app.templates[STACK_NAMES.operationsEdge].resourceCountIs('AWS::CloudFront::MonitoringSubscription', 1);
  });
});
