import { beforeAll, describe, expect, test } from 'vitest';
import { Template } from 'aws-cdk-lib/assertions';
import { WAKE_ENV } from '../../lambda/wake/settings';
import {
  ALB_ORIGIN_ID, WAKE_ORIGIN_ID, WAKE_ORIGIN_IDS, WAKE_PATH_PATTERN,
} from '../../lib/constructs/edge-distribution';
import { USER_FILE_PATH_PATTERNS } from '../../lib/constructs/edge-response-headers';
import { readViewerAuthSource } from '../../lib/edge/viewer-auth-source';
import { JOBS_API_PATH_PATTERN } from '../../lib/jobs/contract';
import { STACK_NAMES, wakeQueueName } from '../../lib/names';
import { SynthesizedApp, synthApp } from '../helpers/synth-app';

/**
 * The wake page as synthesized (docs/scaling-design.md section 4), in the whole app as bin/app.ts builds it: with the
 * default config (autoscaling on) and with autoscaling off. Managed origin request policy ids:
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html
 */
const ALL_VIEWER = '216adef6-5c7f-47e4-b989-5492eafa07d3';
const ALL_VIEWER_EXCEPT_HOST_HEADER = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';

type Resources = Record<string, { Type: string; Properties?: any }>;
const cloudFront = (app: SynthesizedApp): Template => app.templates[STACK_NAMES.cloudFrontEntry];
const resourcesOf = (app: SynthesizedApp): Resources => cloudFront(app).toJSON().Resources;
const ofType = (resources: Resources, type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const distributionConfig = (app: SynthesizedApp) =>
  ofType(resourcesOf(app), 'AWS::CloudFront::Distribution')[0][1].Properties.DistributionConfig;

describe('autoscaling on (the default): GETs fail over to the wake page while no pod answers', () => {
  let app: SynthesizedApp;
  let resources: Resources;
  let config: any;
  beforeAll(async () => {
    app = await synthApp();
    resources = resourcesOf(app);
    config = distributionConfig(app);
  });

  test('the wake queue is named for KEDA, keeps a visit 60 s (the least SQS allows), SSE-SQS and TLS-only', () => {
    const queues = ofType(resources, 'AWS::SQS::Queue');
    expect(queues).toHaveLength(1);
    expect(queues[0][1].Properties).toMatchObject({
      QueueName: wakeQueueName(app.stacks.cluster.config.clusterName),
      MessageRetentionPeriod: 60,
      SqsManagedSseEnabled: true,
    });
    const [[, policy]] = ofType(resources, 'AWS::SQS::QueuePolicy');
    expect(policy.Properties.PolicyDocument.Statement).toContainEqual(expect.objectContaining({
      Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    }));
  });

  test("the wake function may do exactly one thing: sqs:SendMessage on the wake queue (besides writing its own logs)", () => {
    const [[queueId]] = ofType(resources, 'AWS::SQS::Queue');
    const [[roleId, role]] = ofType(resources, 'AWS::IAM::Role').filter(([, r]) => /Wake page/.test(r.Properties.Description ?? ''));
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    const inline = role.Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement);
    expect(inline).toEqual([
      { Sid: 'CountVisits', Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [queueId, 'Arn'] } },
    ]);
    const attached = ofType(resources, 'AWS::IAM::Policy').filter(([, p]) => JSON.stringify(p.Properties.Roles).includes(roleId));
    const actions = attached.flatMap(([, p]) => p.Properties.PolicyDocument.Statement.flatMap((st: any) => [st.Action].flat()));
    expect(actions.every((a: string) => a.startsWith('logs:'))).toBe(true);
  });

  test('the wake function reads the queue URL and the cold-start estimate from its environment', () => {
    const [[queueId]] = ofType(resources, 'AWS::SQS::Queue');
    const [[, fn]] = ofType(resources, 'AWS::Lambda::Function').filter(([, f]) => f.Properties.Environment?.Variables?.[WAKE_ENV.queueUrl]);
    expect(fn.Properties.Environment.Variables).toMatchObject({
      [WAKE_ENV.queueUrl]: { Ref: queueId },
      [WAKE_ENV.coldStartMinutes]: String(app.stacks.cluster.config.coldStartEstimateMinutes),
    });
  });

  test('origins carry the fixed ids the function names; the wake origin is its IAM-only function URL, signed by an OAC', () => {
    const ids = config.Origins.map((o: any) => o.Id);
    expect(ids).toEqual(expect.arrayContaining([...WAKE_ORIGIN_IDS]));
    expect(config.DefaultCacheBehavior.TargetOriginId).toBe(ALB_ORIGIN_ID);
    const wake = config.Origins.find((o: any) => o.Id === WAKE_ORIGIN_ID);
    const [[urlId, url]] = ofType(resources, 'AWS::Lambda::Url');
    expect(url.Properties.AuthType).toBe('AWS_IAM');
    expect(JSON.stringify(wake.DomainName)).toContain(urlId);
    expect(wake.CustomOriginConfig.OriginProtocolPolicy).toBe('https-only');
    const oac = resources[wake.OriginAccessControlId['Fn::GetAtt'][0]];
    expect(oac.Properties.OriginAccessControlConfig).toMatchObject({
      OriginAccessControlOriginType: 'lambda', SigningBehavior: 'always', SigningProtocol: 'sigv4',
    });
  });

  test('CloudFront, for this distribution only, may invoke the wake function only through its URL (both grants)', () => {
    const [[urlId]] = ofType(resources, 'AWS::Lambda::Url');
    const [[distributionId]] = ofType(resources, 'AWS::CloudFront::Distribution');
    const functionArn = JSON.stringify({ 'Fn::GetAtt': [urlId, 'FunctionArn'] });
    const grants = ofType(resources, 'AWS::Lambda::Permission').map(([, p]) => p.Properties)
      .filter((p) => JSON.stringify(p.FunctionName) === functionArn);
    expect(grants.map((g) => g.Action).sort()).toEqual(['lambda:InvokeFunction', 'lambda:InvokeFunctionUrl']);
    for (const grant of grants) {
      expect(grant.Principal).toBe('cloudfront.amazonaws.com');
      expect(JSON.stringify(grant.SourceArn)).toContain(distributionId);
    }
    expect(grants.find((g) => g.Action === 'lambda:InvokeFunction').InvokedViaFunctionUrl).toBe(true);
  });

  test('no ALB behaviour forwards the viewer Host (a failed-over request reaches the Lambda URL with the same policy)', () => {
    const albBehaviours = [config.DefaultCacheBehavior, ...config.CacheBehaviors.filter((b: any) => USER_FILE_PATH_PATTERNS.includes(b.PathPattern))];
    expect(albBehaviours).toHaveLength(1 + USER_FILE_PATH_PATTERNS.length);
    for (const behaviour of albBehaviours) {
      expect(behaviour.TargetOriginId).toBe(ALB_ORIGIN_ID);
      expect(behaviour.OriginRequestPolicyId, behaviour.PathPattern ?? 'default').toBe(ALL_VIEWER_EXCEPT_HOST_HEADER);
      expect(behaviour.AllowedMethods).toContain('POST');
    }
  });

  test(`the wake page's own behaviour (${WAKE_PATH_PATTERN}) is GET/HEAD only, behind the same function`, () => {
    const wake = config.CacheBehaviors.find((b: any) => b.PathPattern === WAKE_PATH_PATTERN);
    expect(wake.TargetOriginId).toBe(WAKE_ORIGIN_ID);
    expect([...wake.AllowedMethods].sort()).toEqual(['GET', 'HEAD']);
    expect(wake.OriginRequestPolicyId).toBe(ALL_VIEWER_EXCEPT_HOST_HEADER);
    expect(wake.FunctionAssociations).toEqual(config.DefaultCacheBehavior.FunctionAssociations);
    expect(config.CacheBehaviors.find((b: any) => b.PathPattern === JOBS_API_PATH_PATTERN)).toBeDefined();
  });

  test('the viewer-request function is deployed with the wake origin ids filled in', () => {
    const [[, fn]] = ofType(resources, 'AWS::CloudFront::Function');
    expect(fn.Properties.FunctionCode).toBe(readViewerAuthSource({ wakeOriginIds: WAKE_ORIGIN_IDS }));
    expect(fn.Properties.FunctionCode).toContain('const WAKE = ["comfyui-alb","comfyui-wake"];');
  });

  test('cdk-nag finds nothing left unacknowledged', () => {
    expect(app.nagViolations, JSON.stringify(app.nagViolations)).toEqual([]);
  });
});

describe('autoscaling off: no wake page, nothing changes at the edge', () => {
  let app: SynthesizedApp;
  beforeAll(async () => {
    app = await synthApp({ autoscaling: 'false' });
  });

  test('no wake queue, function, origin or behaviour; the ALB behaviours forward every viewer header; the function is the file as is', () => {
    const resources = resourcesOf(app);
    const config = distributionConfig(app);
    expect(ofType(resources, 'AWS::SQS::Queue')).toEqual([]);
    expect(ofType(resources, 'AWS::Lambda::Url')).toEqual([]);
    expect(config.Origins.map((o: any) => o.Id)).not.toContain(WAKE_ORIGIN_ID);
    expect(config.CacheBehaviors.map((b: any) => b.PathPattern)).not.toContain(WAKE_PATH_PATTERN);
    expect(config.DefaultCacheBehavior.OriginRequestPolicyId).toBe(ALL_VIEWER);
    const [[, fn]] = ofType(resources, 'AWS::CloudFront::Function');
    expect(fn.Properties.FunctionCode).toBe(readViewerAuthSource());
    expect(app.nagViolations, JSON.stringify(app.nagViolations)).toEqual([]);
  });
});
