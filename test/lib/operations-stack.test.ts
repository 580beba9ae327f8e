import { beforeAll, describe, expect, test } from 'vitest';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Construct } from 'constructs';
import { STACK_NAMES } from '../../lib/names';
import { findOperationsSources } from '../../lib/operations-sources';
import { alarm, buildOperationsStacks as build, dashboardBody } from '../helpers/operations-stacks';
import { synthApp } from '../helpers/synth-app';

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

describe('in the composed app, options off', () => {
  test('without CloudFront there is no edge stack and no CloudFront widget; with operations off, neither stack', async () => {
    const noCloudFront = await synthApp({ cloudFront: 'false', albExposure: 'vpc', jobs: 'false' });
    expect(Object.keys(noCloudFront.templates)).toContain(STACK_NAMES.operations);
    expect(Object.keys(noCloudFront.templates)).not.toContain(STACK_NAMES.operationsEdge);
    expect(dashboardBody(noCloudFront.templates[STACK_NAMES.operations])).not.toContain('AWS/CloudFront');
    expect(noCloudFront.nagViolations).toEqual([]);
    const off = await synthApp({ operations: 'false' });
    expect(Object.keys(off.templates)).not.toContain(STACK_NAMES.operations);
    expect(Object.keys(off.templates)).not.toContain(STACK_NAMES.operationsEdge);
  });
});

describe('findOperationsSources', () => {
  test('names the construct it could not find, so a renamed id fails synth with a pointer', () => {
    const app = new App();
    const modelsSync = new Stack(app, 'Models');
    expect(() => findOperationsSources({ modelsSync })).toThrow("operations: no construct 'ModelSync' in Models; update findOperationsSources");
    new Construct(modelsSync, 'ModelSync');
    expect(() => findOperationsSources({ modelsSync })).toThrow("operations: Models/ModelSync has no Lambda function");
  });
});
