import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, test } from 'vitest';
import { EdgeDistribution } from '../../lib/constructs/edge-distribution';
import { JOBS_API_PATH_PATTERN } from '../../lib/jobs/contract';

/**
 * EdgeDistribution's jobs API behaviour, built in a bare stack with a stand-in ALB and function. Managed policy ids:
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html and
 * .../using-managed-origin-request-policies.html.
 */
const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
const ALL_VIEWER_EXCEPT_HOST_HEADER = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';
const CDK_JSON_CONTEXT = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')).context;

function edge(withJobs: boolean): { template: Template; resources: Record<string, any> } {
  const stack = new Stack(new App({ context: CDK_JSON_CONTEXT }), 'Edge', { env: { account: '123456789012', region: 'us-west-2' } });
  const loadBalancer = elbv2.ApplicationLoadBalancer.fromApplicationLoadBalancerAttributes(stack, 'Alb', {
    loadBalancerArn: 'arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/comfyui/0123456789abcdef',
    securityGroupId: 'sg-0123456789abcdef0',
    loadBalancerDnsName: 'internal-comfyui-123.us-west-2.elb.amazonaws.com',
  });
  const api = new lambda.Function(stack, 'Api', {
    code: lambda.Code.fromInline('exports.handler = async () => ({ statusCode: 200 });'),
    handler: 'index.handler',
    runtime: lambda.Runtime.NODEJS_24_X,
  });
  const viewerRequestFunction = new cloudfront.Function(stack, 'ViewerAuth', {
    code: cloudfront.FunctionCode.fromInline('async function handler(event) { return event.request; }'),
    runtime: cloudfront.FunctionRuntime.JS_2_0,
  });
  new EdgeDistribution(stack, 'Edge', {
    loadBalancer,
    viewerRequestFunction,
    dataRemovalPolicy: 'destroy',
    jobsApiUrl: withJobs ? api.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM }) : undefined,
  });
  const template = Template.fromStack(stack);
  return { template, resources: template.toJSON().Resources };
}

const ofType = (resources: Record<string, any>, type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

describe('the jobs API behaviour', () => {
  const { resources } = edge(true);
  const [[distributionId, distribution]] = ofType(resources, 'AWS::CloudFront::Distribution');
  const config = distribution.Properties.DistributionConfig;
  const jobs = config.CacheBehaviors.find((b: any) => b.PathPattern === JOBS_API_PATH_PATTERN);
  const origin = config.Origins.find((o: any) => o.Id === jobs?.TargetOriginId);
  const [[urlId]] = ofType(resources, 'AWS::Lambda::Url');
  /** The function behind the URL, as the URL resource names it. */
  const apiArn = JSON.stringify({ 'Fn::GetAtt': [urlId, 'FunctionArn'] });

  test(`routes ${JOBS_API_PATH_PATTERN} to the function URL over HTTPS, signed by a Lambda origin access control (SigV4, always)`, () => {
    expect(jobs).toBeDefined();
    expect(JSON.stringify(origin.DomainName)).toContain('FunctionUrl');
    expect(origin.CustomOriginConfig.OriginProtocolPolicy).toBe('https-only');
    const oacId = origin.OriginAccessControlId['Fn::GetAtt'][0];
    expect(resources[oacId].Properties.OriginAccessControlConfig).toMatchObject({
      OriginAccessControlOriginType: 'lambda',
      SigningBehavior: 'always',
      SigningProtocol: 'sigv4',
    });
  });

  test("caches nothing, forwards every viewer header but Host (the URL's own signs), allows every method, runs the viewer-request function", () => {
    expect(jobs.CachePolicyId).toBe(CACHING_DISABLED);
    expect(jobs.OriginRequestPolicyId).toBe(ALL_VIEWER_EXCEPT_HOST_HEADER);
    expect([...jobs.AllowedMethods].sort()).toEqual(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT']);
    expect(jobs.ViewerProtocolPolicy).toBe('redirect-to-https');
    expect(jobs.FunctionAssociations).toEqual(config.DefaultCacheBehavior.FunctionAssociations);
    expect(jobs.FunctionAssociations).toHaveLength(1);
    expect(jobs.ResponseHeadersPolicyId).toEqual(config.DefaultCacheBehavior.ResponseHeadersPolicyId);
  });

  test('lets this distribution, and only it, call the URL: InvokeFunctionUrl and InvokeFunction (through the URL only)', () => {
    const permissions = ofType(resources, 'AWS::Lambda::Permission').map(([, p]) => p.Properties);
    const thisDistribution = JSON.stringify({ Ref: distributionId });
    expect(permissions.map((p) => p.Action).sort()).toEqual(['lambda:InvokeFunction', 'lambda:InvokeFunctionUrl']);
    for (const p of permissions) {
      expect(p.Principal, p.Action).toBe('cloudfront.amazonaws.com');
      expect(JSON.stringify(p.SourceArn), p.Action).toContain(thisDistribution);
      expect(JSON.stringify(p.SourceArn), p.Action).toContain(':distribution/');
      expect(JSON.stringify(p.FunctionName), p.Action).toBe(apiArn);
    }
    expect(permissions.find((p) => p.Action === 'lambda:InvokeFunction').InvokedViaFunctionUrl).toBe(true);
  });
});

test('without a jobs API URL the distribution has no jobs behaviour and grants no Lambda permission', () => {
  const { resources } = edge(false);
  const [[, distribution]] = ofType(resources, 'AWS::CloudFront::Distribution');
  expect(distribution.Properties.DistributionConfig.CacheBehaviors.map((b: any) => b.PathPattern)).not.toContain(JOBS_API_PATH_PATTERN);
  expect(ofType(resources, 'AWS::Lambda::Permission')).toEqual([]);
  expect(ofType(resources, 'AWS::CloudFront::OriginAccessControl')).toEqual([]);
});
