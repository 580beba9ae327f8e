import { describe, expect, test } from 'vitest';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { ALB_HEALTH_CHECK, ComfyuiLoadBalancer } from '../../lib/constructs/comfyui-load-balancer';
import { ALB_SUBNET_GROUP_NAME, COMFYUI_HEALTH_CHECK_PATH } from '../../lib/names';

function targetGroupHealthCheck(): Record<string, unknown> {
  const stack = new Stack(new App(), 'Test', { env: { account: '123456789012', region: 'us-west-2' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    maxAzs: 2,
    natGateways: 0,
    subnetConfiguration: [
      { name: 'private', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      { name: ALB_SUBNET_GROUP_NAME, subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    ],
  });
  new ComfyuiLoadBalancer(stack, 'Lb', {
    vpc,
    vpcCidr: '10.0.0.0/16',
    podSecurityGroup: new ec2.SecurityGroup(stack, 'Pods', { vpc }),
    exposure: 'cloudfront-only',
    allowedCidrs: [],
    idleTimeout: Duration.minutes(10),
    dataRemovalPolicy: 'destroy',
  });
  const groups = Object.values(Template.fromStack(stack).findResources('AWS::ElasticLoadBalancingV2::TargetGroup'));
  expect(groups).toHaveLength(1);
  return groups[0].Properties;
}

describe('the ComfyUI target group health check', () => {
  const props = targetGroupHealthCheck();

  test('checks every 5 s, the ELBv2 minimum, and needs two passes: a new pod is healthy (and Ready) within about 10 s', () => {
    expect(props.HealthCheckIntervalSeconds).toBe(5);
    expect(props.HealthyThresholdCount).toBe(2);
    expect(props.HealthCheckPath).toBe(COMFYUI_HEALTH_CHECK_PATH);
    expect(props.Matcher).toEqual({ HttpCode: '200' });
  });

  test('sets a timeout below the interval, as ELBv2 requires (the HTTP default of 6 s would be refused at deploy)', () => {
    expect(props.HealthCheckTimeoutSeconds).toBe(ALB_HEALTH_CHECK.timeoutSeconds);
    expect(ALB_HEALTH_CHECK.timeoutSeconds).toBeGreaterThanOrEqual(2);
    expect(ALB_HEALTH_CHECK.timeoutSeconds).toBeLessThan(ALB_HEALTH_CHECK.intervalSeconds);
  });

  test('still gives a serving pod about 45 s of failed checks before taking it out, as with the old 3 x 15 s', () => {
    expect(props.UnhealthyThresholdCount).toBe(9);
    expect(ALB_HEALTH_CHECK.unhealthyThresholdCount * ALB_HEALTH_CHECK.intervalSeconds).toBe(45);
  });
});
