import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../../lib/config';

const fromContext = (values: Record<string, unknown>) => (key: string) => values[key];

describe('loadConfig', () => {
  test('builds the documented defaults from an empty context', () => {
    const config = loadConfig(fromContext({}));
    expect(config).toMatchObject({
      account: '123456789012',
      region: 'us-west-2',
      clusterName: 'comfyui',
      kubernetesVersion: '1.35',
      gpuInstanceFamilies: ['g5', 'g4dn'],
      capacityTypes: ['spot', 'on-demand'],
      modelsBucketName: 'comfyui-models-123456789012-us-west-2',
      outputsBucketName: 'comfyui-outputs-123456789012-us-west-2',
      cloudFront: true,
      albExposure: 'cloudfront-only',
      dataRemovalPolicy: 'retain',
    });
    expect(config.clusterAdminArn).toBeUndefined();
  });

  test('keeps the Kubernetes API endpoint private unless clusterEndpointPublicCidrs lists networks', () => {
    expect(loadConfig(fromContext({})).clusterEndpointPublicCidrs).toEqual([]);
    expect(loadConfig(fromContext({ clusterEndpointPublicCidrs: '' })).clusterEndpointPublicCidrs).toEqual([]);
    expect(loadConfig(fromContext({ clusterEndpointPublicCidrs: '203.0.113.7/32, 198.51.100.0/24' })).clusterEndpointPublicCidrs)
      .toEqual(['203.0.113.7/32', '198.51.100.0/24']);
  });

  test('takes the account from CDK_DEFAULT_ACCOUNT and derives bucket names from it', () => {
    const config = loadConfig(fromContext({ region: 'eu-west-1' }), { CDK_DEFAULT_ACCOUNT: '210987654321' });
    expect(config.modelsBucketName).toBe('comfyui-models-210987654321-eu-west-1');
  });

  test('parses -c strings: comma lists, booleans and integers', () => {
    const config = loadConfig(
      fromContext({ gpuInstanceFamilies: 'g6, g5', cloudFront: 'false', jobs: 'false', albExposure: 'vpc', maxAzs: '3', natGateways: '3' }),
    );
    expect(config.gpuInstanceFamilies).toEqual(['g6', 'g5']);
    expect(config.cloudFront).toBe(false);
    expect(config.maxAzs).toBe(3);
  });

  test('a -c override wins over the comfyui object in cdk.json', () => {
    const config = loadConfig(fromContext({ comfyui: { clusterName: 'from-file' }, clusterName: 'from-cli' }));
    expect(config.clusterName).toBe('from-cli');
  });

  test.each([
    // What `aws sts get-caller-identity` prints for an SSO or assumed role.
    ['arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123/jane@studio.com', 'arn:aws:iam::123456789012:role/AWSReservedSSO_Admin_0123'],
    // aws-auth matches role ARNs without their path.
    ['arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123', 'arn:aws:iam::123456789012:role/AWSReservedSSO_Admin_0123'],
    ['arn:aws:iam::123456789012:user/jane', 'arn:aws:iam::123456789012:user/jane'],
  ])('turns clusterAdminArn %s into the ARN aws-auth matches', (given, mapped) => {
    expect(loadConfig(fromContext({ clusterAdminArn: given })).clusterAdminArn).toBe(mapped);
  });

  test.each([
    [{ gpuInstanceFamilies: 'g5,m5' }, "Invalid config 'gpuInstanceFamilies': unknown value(s) m5; allowed: g4dn, g5"],
    [{ capacityTypes: 'spot,reserved' }, "Invalid config 'capacityTypes': unknown value(s) reserved"],
    [{ kubernetesVersion: '1.20' }, "Invalid config 'kubernetesVersion': expected one of 1.33, 1.34, 1.35"],
    [{ cloudFront: 'yes' }, "Invalid config 'cloudFront': expected true or false"],
    [{ albExposure: 'public' }, "Invalid config 'albExposure': expected one of cloudfront-only, vpc, cidrs"],
    [{ modelsBucketName: 'My_Models' }, "Invalid config 'modelsBucketName': bucket name \"My_Models\""],
    [{ clusterName: '-bad' }, "Invalid config 'clusterName'"],
    [{ account: '12345' }, "Invalid config 'account': expected a 12-digit AWS account id"],
    [{ region: 'mars-1' }, "Invalid config 'region'"],
    [{ clusterAdminArn: 'jane' }, "Invalid config 'clusterAdminArn': expected an IAM role or user ARN"],
    [{ albIdleTimeoutSeconds: '60' }, "Invalid config 'albIdleTimeoutSeconds': expected an integer from 600 to 4000"],
    [{ vpcCidr: '10.0.0.0/33' }, "Invalid config 'vpcCidr': expected an IPv4 CIDR"],
    [{ clusterEndpointPublicCidrs: '203.0.113.7' }, "Invalid config 'clusterEndpointPublicCidrs': expected an IPv4 CIDR"],
    [{ comfyui: { clusterNmae: 'x' } }, "Invalid config 'clusterNmae': unknown key"],
    [{ cloudFront: false }, "Invalid config 'albExposure': 'cloudfront-only' leaves no way in"],
    [{ albExposure: 'cidrs' }, "Invalid config 'albAllowedCidrs': albExposure 'cidrs' needs at least one CIDR"],
    [{ albAllowedCidrs: '10.1.0.0/16' }, "Invalid config 'albAllowedCidrs': is only used when albExposure is 'cidrs'"],
    [
      { albExposure: 'cidrs', albAllowedCidrs: Array.from({ length: 60 }, (_, i) => `10.${i}.0.0/16`).join(',') },
      "Invalid config 'albAllowedCidrs': at most 59 CIDRs fit in the ALB security group's 60 inbound rules beside CloudFront, got 60",
    ],
    [{ modelsBucketName: 'same-name', outputsBucketName: 'same-name' }, "Invalid config 'outputsBucketName': must differ"],
    [{ adoptRetainedData: true, dataRemovalPolicy: 'destroy' }, "Invalid config 'adoptRetainedData': adopted buckets and repository are not owned by CloudFormation"],
    [{ natGateways: 3 }, "Invalid config 'natGateways': must not exceed maxAzs (2)"],
  ])('rejects %j naming the key and the allowed values', (context, message) => {
    expect(() => loadConfig(fromContext(context))).toThrow(ConfigError);
    expect(() => loadConfig(fromContext(context))).toThrow(message);
  });
});

describe('workload settings read by the manifest renderer', () => {
  const fromContext = (values: Record<string, unknown>) => loadConfig((key) => values[key]);

  test('default to one replica, 8 GPUs, 4-GPU multi-GPU nodes, 10m consolidation and a 30 min prompt grace', () => {
    const config = fromContext({});
    expect([config.comfyuiReplicas, config.maxGpus, config.gpusPerMultiGpuNode]).toEqual([1, 8, 4]);
    expect([config.gpuNodeConsolidateAfter, config.gpuNodeExpireAfter, config.promptGracePeriodSeconds]).toEqual([
      '10m', '720h', 1800,
    ]);
  });

  test('the multi-GPU pod runs the patched thread executor unless multiGpuExecutor asks for one ComfyUI per GPU', () => {
    expect(fromContext({}).multiGpuExecutor).toBe('thread');
    expect(fromContext({ multiGpuExecutor: 'process' }).multiGpuExecutor).toBe('process');
    expect(loadConfig((key) => (key === 'comfyui' ? { multiGpuExecutor: 'process' } : undefined)).multiGpuExecutor).toBe('process');
  });

  test.each([
    ['multiGpuExecutor', 'processes', `Invalid config 'multiGpuExecutor': expected one of thread, process, got "processes"`],
    ['multiGpuExecutor', 'Process', `expected one of thread, process, got "Process"`],
    ['gpusPerMultiGpuNode', 6, /expected 4 or 8, got 6/],
    ['gpuNodeConsolidateAfter', '10 minutes', /expected a duration such as 30s, 10m or 720h/],
    ['promptGracePeriodSeconds', 30, /from 120 to 7200/],
    ['vpcCidr', '172.20.0.0/16', /must not overlap the Kubernetes service CIDR/],
    ['vpcCidr', '10.0.0.0/20', /must be a \/17 or larger/],
  ])('%s=%s is refused with a message naming the key', (key, value, message) => {
    expect(() => fromContext({ [key]: value })).toThrow(ConfigError);
    expect(() => fromContext({ [key]: value })).toThrow(message);
  });
});

describe('edge access settings', () => {
  const fromContext = (values: Record<string, unknown>) => loadConfig((key) => values[key]);

  test('default to edge authentication on and WAF off (it costs money), with a 3000-per-5-minutes limit ready', () => {
    const config = fromContext({});
    expect([config.edgeAuth, config.edgeAuthOffAcknowledged, config.waf, config.wafRateLimitPer5Minutes]).toEqual([
      true, false, false, 3000,
    ]);
  });

  test('edgeAuth=false is accepted only with edgeAuthOffAcknowledged=true', () => {
    expect(fromContext({ edgeAuth: 'false', edgeAuthOffAcknowledged: 'true', jobs: 'false' }).edgeAuth).toBe(false);
  });

  test('without CloudFront there is no edge, so edgeAuth=false needs no acknowledgement', () => {
    expect(fromContext({ cloudFront: 'false', albExposure: 'vpc', edgeAuth: 'false', jobs: 'false' }).edgeAuth).toBe(false);
  });

  test('waf=true takes a rate limit from -c', () => {
    expect(fromContext({ waf: 'true', wafRateLimitPer5Minutes: '500' })).toMatchObject({ waf: true, wafRateLimitPer5Minutes: 500 });
  });

  test.each([
    [{ edgeAuth: false }, "Invalid config 'edgeAuth': false lets anyone on the internet use ComfyUI"],
    [{ edgeAuth: 'no' }, "Invalid config 'edgeAuth': expected true or false"],
    [{ edgeAuthOffAcknowledged: true }, "Invalid config 'edgeAuthOffAcknowledged': is only used when edgeAuth is false"],
    [{ cloudFront: false, albExposure: 'vpc', waf: true }, "Invalid config 'waf': protects the CloudFront distribution; it needs cloudFront=true"],
    [{ wafRateLimitPer5Minutes: 500 }, "Invalid config 'wafRateLimitPer5Minutes': is only used when waf is true"],
    [{ waf: true, wafRateLimitPer5Minutes: 10 }, "Invalid config 'wafRateLimitPer5Minutes': expected an integer from 100 to 2000000000"],
  ])('rejects %j naming the key', (context, message) => {
    expect(() => fromContext(context)).toThrow(ConfigError);
    expect(() => fromContext(context)).toThrow(message);
  });
});
