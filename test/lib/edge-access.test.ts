import { beforeAll, describe, expect, test } from 'vitest';
import { Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import {
  HSTS_MAX_AGE,
  UI_CONTENT_SECURITY_POLICY,
  USER_FILE_CONTENT_SECURITY_POLICY,
  USER_FILE_PATH_PATTERNS,
} from '../../lib/constructs/edge-response-headers';
import { COMMON_RULES_COUNTED } from '../../lib/constructs/edge-web-acl';
import { WAKE_ORIGIN_IDS, WAKE_PATH_PATTERN } from '../../lib/constructs/edge-distribution';
import { readViewerAuthSource } from '../../lib/edge/viewer-auth-source';
import { JOBS_API_PATH_PATTERN } from '../../lib/jobs/contract';
import { EDGE_WEB_ACL_STACK_NAME, OUTPUT_KEYS, STACK_NAMES } from '../../lib/names';
import { albIngress } from '../helpers/alb-ingress';
import { SynthesizedApp, synthApp } from '../helpers/synth-app';

type Resources = Record<string, { Type: string; Properties?: any }>;

const cloudFront = (app: SynthesizedApp) => app.templates[STACK_NAMES.cloudFrontEntry];
const resourcesOf = (template: Template): Resources => template.toJSON().Resources;

function distributionConfig(app: SynthesizedApp): any {
  const distributions = Object.values(cloudFront(app).findResources('AWS::CloudFront::Distribution'));
  expect(distributions).toHaveLength(1);
  return distributions[0].Properties.DistributionConfig;
}

/** The default behaviour and every path behaviour: each is a way in. */
function behaviours(app: SynthesizedApp): any[] {
  const config = distributionConfig(app);
  return [config.DefaultCacheBehavior, ...(config.CacheBehaviors ?? [])];
}

/** The security headers of the response headers policy a behaviour names (by Ref, as CDK writes it). */
function securityHeaders(app: SynthesizedApp, behaviour: any): any {
  const policies = cloudFront(app).findResources('AWS::CloudFront::ResponseHeadersPolicy');
  const policy = policies[behaviour.ResponseHeadersPolicyId?.Ref];
  expect(policy, JSON.stringify(behaviour.ResponseHeadersPolicyId)).toBeDefined();
  return policy.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
}

/** A CSP's directives by name, e.g. { sandbox: [], 'default-src': ["'none'"] }. */
function directives(policy: string): Record<string, string[]> {
  return Object.fromEntries(
    policy.split(';').map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map(([name, ...values]) => [name.toLowerCase(), values]),
  );
}

describe('with the default config, nothing reaches ComfyUI without credentials', () => {
  let app: SynthesizedApp;
  beforeAll(async () => {
    app = await synthApp();
  });

  test('every CloudFront behaviour runs the authentication function on viewer request', () => {
    const functions = cloudFront(app).findResources('AWS::CloudFront::Function');
    const [functionId] = Object.keys(functions);
    expect(Object.keys(functions)).toHaveLength(1);
    for (const behaviour of behaviours(app)) {
      expect(behaviour.FunctionAssociations).toEqual([
        { EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [functionId, 'FunctionARN'] } },
      ]);
    }
  });

  test('the path behaviours are exactly the user-file paths, and each is the default behaviour but for its headers', () => {
    const config = distributionConfig(app);
    const paths = (config.CacheBehaviors ?? []).map((b: any) => b.PathPattern);
    // The jobs API's and the wake page's behaviours go to their own origins (jobs-edge and edge-wake tests check them).
    const ownOrigins = [JOBS_API_PATH_PATTERN, WAKE_PATH_PATTERN];
    expect(paths).toEqual([...USER_FILE_PATH_PATTERNS, ...ownOrigins]);
    const { ResponseHeadersPolicyId: uiPolicy, ...defaults } = config.DefaultCacheBehavior;
    for (const { PathPattern, ResponseHeadersPolicyId, ...rest } of config.CacheBehaviors.filter((b: any) => !ownOrigins.includes(b.PathPattern))) {
      // Same origin, HTTPS redirect, all methods, no caching, every viewer header forwarded, the same function.
      expect(rest, PathPattern).toEqual(defaults);
      expect(ResponseHeadersPolicyId, PathPattern).not.toEqual(uiPolicy);
    }
  });

  test('every response gets nosniff, HSTS for a year or more with subdomains, and same-origin referrers', () => {
    for (const behaviour of behaviours(app)) {
      const headers = securityHeaders(app, behaviour);
      expect(headers.ContentTypeOptions).toEqual({ Override: true });
      expect(headers.StrictTransportSecurity).toMatchObject({ IncludeSubdomains: true, Override: true });
      expect(headers.StrictTransportSecurity.AccessControlMaxAgeSec).toBeGreaterThanOrEqual(365 * 24 * 3600);
      expect(headers.StrictTransportSecurity.AccessControlMaxAgeSec).toBe(HSTS_MAX_AGE.toSeconds());
      // Not no-referrer: that makes a browser send Origin: null on a same-origin form POST, which the edge refuses.
      expect(headers.ReferrerPolicy).toEqual({ ReferrerPolicy: 'same-origin', Override: true });
    }
  });

  test('the web UI may not be framed, and gets no CSP that could stop its own scripts', () => {
    const headers = securityHeaders(app, distributionConfig(app).DefaultCacheBehavior);
    expect(headers.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
    expect(headers.ContentSecurityPolicy.ContentSecurityPolicy).toBe(UI_CONTENT_SECURITY_POLICY);
    expect(directives(UI_CONTENT_SECURITY_POLICY)).toEqual({ 'frame-ancestors': ["'none'"] });
  });

  test('/view, /api/view and /userdata files are sandboxed: an uploaded SVG or HTML page runs no script on the origin', () => {
    const [viewBehaviour] = distributionConfig(app).CacheBehaviors;
    const headers = securityHeaders(app, viewBehaviour);
    // Override: ComfyUI or a custom node cannot send a weaker policy for these paths.
    expect(headers.ContentSecurityPolicy).toEqual({ ContentSecurityPolicy: USER_FILE_CONTENT_SECURITY_POLICY, Override: true });
    const csp = directives(USER_FILE_CONTENT_SECURITY_POLICY);
    expect(csp.sandbox).toEqual([]); // no allow-scripts, no allow-same-origin
    expect(csp['default-src']).toEqual(["'none'"]);
    expect(csp['script-src']).toBeUndefined();
    expect(JSON.stringify(csp)).not.toMatch(/unsafe-eval|allow-scripts|allow-same-origin|\*/);
    expect(csp['frame-ancestors']).toEqual(["'self'"]);
    expect(headers.FrameOptions).toEqual({ FrameOption: 'SAMEORIGIN', Override: true });
    for (const pattern of ['/view*', '/api/view*', '/userdata/*', '/api/userdata/*']) expect(USER_FILE_PATH_PATTERNS).toContain(pattern);
  });

  test('the headers policies are named per region, as names are unique across an account', () => {
    const policies = Object.values(cloudFront(app).findResources('AWS::CloudFront::ResponseHeadersPolicy'));
    expect(policies).toHaveLength(2);
    for (const policy of policies) {
      const name = policy.Properties.ResponseHeadersPolicyConfig.Name;
      expect(name).toMatch(/^us-west-2-[A-Za-z0-9-]+$/);
      expect(name.length).toBeLessThanOrEqual(128);
    }
  });

  test('the function is the tested source on runtime 2.0 (with the wake origins: autoscaling is on by default), published, reading the users store', () => {
    const [fn] = Object.values(cloudFront(app).findResources('AWS::CloudFront::Function'));
    const [storeId] = Object.keys(cloudFront(app).findResources('AWS::CloudFront::KeyValueStore'));
    expect(fn.Properties.FunctionCode).toBe(readViewerAuthSource({ wakeOriginIds: WAKE_ORIGIN_IDS }));
    expect(fn.Properties.AutoPublish).toBe(true);
    expect(fn.Properties.FunctionConfig).toMatchObject({
      Runtime: 'cloudfront-js-2.0',
      KeyValueStoreAssociations: [{ KeyValueStoreARN: { 'Fn::GetAtt': [storeId, 'Arn'] } }],
    });
  });

  test("the origins are the VPC origin of the internal ALB and the jobs API's and wake page's function URLs, signed by an origin access control", () => {
    const config = distributionConfig(app);
    const origins = config.Origins.filter((o: any) => o.Id !== WAKE_ORIGIN_IDS[1]);
    expect(config.Origins).toHaveLength(3);
    const [alb] = origins.filter((o: any) => o.Id === config.DefaultCacheBehavior.TargetOriginId);
    expect(alb.VpcOriginConfig).toBeDefined();
    expect(alb.CustomOriginConfig).toBeUndefined();
    expect(alb.S3OriginConfig).toBeUndefined();
    const [jobsApi] = origins.filter((o: any) => o !== alb);
    expect(jobsApi.OriginAccessControlId).toBeDefined();
    expect(JSON.stringify(jobsApi.DomainName)).toContain(`${STACK_NAMES.jobs}:`);
  });

  test('the ALB is internal and its security groups admit only CloudFront, on the listener port', () => {
    app.templates[STACK_NAMES.cluster].hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internal' });
    const listeners = Object.values(app.templates[STACK_NAMES.cluster].findResources('AWS::ElasticLoadBalancingV2::Listener'));
    expect(listeners.map((l) => l.Properties.Port)).toEqual([80]);
    const ingress = albIngress(app);
    expect(ingress).toHaveLength(1);
    expect(ingress[0]).toMatchObject({ IpProtocol: 'tcp', FromPort: 80, ToPort: 80 });
    // CloudFront's VPC-origin service group, looked up once the VPC origin exists (VpcOriginIngress).
    expect(ingress[0].SourceSecurityGroupId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^VpcOriginIngressServiceGroupLookup/), 'SecurityGroups.0.GroupId'] });
    for (const key of ['CidrIp', 'CidrIpv6', 'SourcePrefixListId']) expect(ingress[0][key], key).toBeUndefined();
    expect(JSON.stringify(ingress)).not.toMatch(/0\.0\.0\.0\/0|::\/0/);
  });

  test('no stack opens another way in: no internet-facing load balancer, other distribution, API or function URL', () => {
    for (const [name, template] of Object.entries(app.templates)) {
      const resources = Object.values(resourcesOf(template));
      const internetFacing = resources.filter(
        (r) => r.Type.startsWith('AWS::ElasticLoadBalancing') && r.Properties?.Scheme === 'internet-facing',
      );
      expect(internetFacing, name).toEqual([]);
      // The jobs API's function URL takes only IAM-signed requests: CloudFront's, through its origin access control.
      const doors = resources.filter((r) =>
        /^AWS::(ApiGateway|ApiGatewayV2|AppSync)::/.test(r.Type) || (r.Type === 'AWS::Lambda::Url' && r.Properties?.AuthType !== 'AWS_IAM'),
      );
      expect(doors, name).toEqual([]);
      const distributions = resources.filter((r) => r.Type === 'AWS::CloudFront::Distribution');
      expect(distributions.length, name).toBe(name === STACK_NAMES.cloudFrontEntry ? 1 : 0);
    }
  });

  test('users live only in the store: it is created empty, and no template holds a credential', () => {
    const [store] = Object.values(cloudFront(app).findResources('AWS::CloudFront::KeyValueStore'));
    expect(store.Properties.ImportSource).toBeUndefined();
    for (const [name, template] of Object.entries(app.templates)) {
      expect(JSON.stringify(template.toJSON()), name).not.toMatch(/v1\$[A-Za-z0-9_-]{22}\$[0-9a-f]{64}/);
    }
  });

  test('the store is named per region, as store names are unique across an account', () => {
    const [store] = Object.values(cloudFront(app).findResources('AWS::CloudFront::KeyValueStore'));
    expect(store.Properties.Name).toMatch(/^us-west-2-[A-Za-z0-9_-]+$/);
    expect(store.Properties.Name.length).toBeLessThanOrEqual(64);
  });

  test('the store ARN is a CloudFrontEntry output for comfyctl users', () => {
    const [storeId] = Object.keys(cloudFront(app).findResources('AWS::CloudFront::KeyValueStore'));
    cloudFront(app).hasOutput(OUTPUT_KEYS.edgeUsersStoreArn, { Value: { 'Fn::GetAtt': [storeId, 'Arn'] } });
  });

  test('no WAF by default (it costs money), and no warning about a bypass', () => {
    cloudFront(app).resourceCountIs('AWS::WAFv2::WebACL', 0);
    expect(distributionConfig(app).WebACLId).toBeUndefined();
    expect(Object.keys(app.templates)).not.toContain(EDGE_WEB_ACL_STACK_NAME);
    expect(Annotations.fromStack(app.stacks.cluster.stack).findWarning('*', Match.stringLikeRegexp('edge authentication'))).toEqual([]);
  });
});

describe('configurations that open other ways in say so at synth', () => {
  test.each([
    [{ albExposure: 'vpc' }, "albExposure is 'vpc'"],
    [{ albExposure: 'cidrs', albAllowedCidrs: '10.50.0.0/16' }, "albExposure is 'cidrs'"],
  ])('%j warns that direct clients skip edge authentication', async (context, message) => {
    const app = await synthApp(context);
    const warnings = Annotations.fromStack(app.stacks.cluster.stack).findWarning('*', Match.stringLikeRegexp('without edge authentication'));
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(warnings[0].entry.data)).toContain(message);
    // CloudFront itself still authenticates.
    expect(behaviours(app).every((b) => b.FunctionAssociations?.length === 1)).toBe(true);
  });

  test('edgeAuth=false (acknowledged) drops the function and the store, and warns', async () => {
    const app = await synthApp({ edgeAuth: 'false', edgeAuthOffAcknowledged: 'true', jobs: 'false' });
    expect(behaviours(app).map((b) => b.FunctionAssociations)).toEqual(Array(1 + USER_FILE_PATH_PATTERNS.length).fill(undefined));
    cloudFront(app).resourceCountIs('AWS::CloudFront::KeyValueStore', 0);
    expect(Object.keys(cloudFront(app).findOutputs(OUTPUT_KEYS.edgeUsersStoreArn))).toEqual([]);
    const stack = app.stacks.cloudFrontEntry as Stack;
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('anyone who knows the CloudFront URL'));
    expect(app.nagViolations).toEqual([]);
  });
});

describe('waf=true', () => {
  test('creates a CloudFront web ACL in us-east-1 and attaches it through a cross-region reference', async () => {
    const app = await synthApp({ waf: 'true', wafRateLimitPer5Minutes: '1200' });
    expect(app.stacks.edgeWebAcl!.region).toBe('us-east-1');
    const acl = app.templates[EDGE_WEB_ACL_STACK_NAME];
    acl.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'CLOUDFRONT',
      DefaultAction: { Allow: {} },
      Rules: [
        Match.objectLike({ Name: 'RateLimitPerIp', Action: { Block: {} }, Statement: { RateBasedStatement: Match.objectLike({ Limit: 1200, AggregateKeyType: 'IP' }) } }),
        Match.objectLike({
          Name: 'AwsCommonRuleSet',
          OverrideAction: { None: {} },
          Statement: {
            ManagedRuleGroupStatement: {
              VendorName: 'AWS',
              Name: 'AWSManagedRulesCommonRuleSet',
              RuleActionOverrides: COMMON_RULES_COUNTED.map((Name) => ({ Name, ActionToUse: { Count: {} } })),
            },
          },
        }),
      ],
    });
    // The distribution (us-west-2 stack) reads the ACL's ARN from the SSM parameter CDK writes for it.
    expect(JSON.stringify(distributionConfig(app).WebACLId)).toMatch(/ExportsReader.*\/cdk\/exports\/CloudFrontEntry\//);
    expect(behaviours(app).every((b) => b.FunctionAssociations?.length === 1)).toBe(true);
    expect(app.nagViolations, JSON.stringify(app.nagViolations)).toEqual([]);
  });

  test('in us-east-1 the web ACL stack is a plain same-region dependency', async () => {
    const app = await synthApp({ region: 'us-east-1', waf: 'true' });
    expect(JSON.stringify(distributionConfig(app).WebACLId)).toMatch(/Fn::ImportValue/);
    expect(app.stacks.cloudFrontEntry!.dependencies.map((s) => s.stackName)).toContain(EDGE_WEB_ACL_STACK_NAME);
  });
});
