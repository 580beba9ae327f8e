import { Annotations, Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';
import { AlbExposure, DataRemovalPolicy } from '../config';
import { ALB_SUBNET_GROUP_NAME, COMFYUI_HEALTH_CHECK_PATH, COMFYUI_PORT } from '../names';
import { createLogBucket } from './secure-bucket';

export interface ComfyuiLoadBalancerProps {
  readonly vpc: ec2.IVpc;
  /** The VPC's CIDR as configured: a literal keeps the security group rule readable and checkable. */
  readonly vpcCidr: string;
  /** Security group of the pods' ENIs (the EKS cluster security group): it admits the ALB on ComfyUI's port. */
  readonly podSecurityGroup: ec2.ISecurityGroup;
  /** Who else may reach the ALB directly. */
  readonly exposure: AlbExposure;
  /** CIDRs admitted when exposure is `cidrs`. */
  readonly allowedCidrs: readonly string[];
  /** Idle timeout, at least ten minutes so a silent ComfyUI WebSocket survives a long prompt. */
  readonly idleTimeout: Duration;
  readonly dataRemovalPolicy: DataRemovalPolicy;
}

/** The port the ALB listens on. CloudFront's VPC origin speaks HTTP to it inside the VPC. */
export const ALB_LISTENER_PORT = 80;

/**
 * The target group's health check. The namespace's pod readiness gate holds a new pod un-Ready until its
 * target is healthy, so the interval is part of every cold start: 5 s is the ELBv2 minimum (range 5-300 s),
 * and ELBv2 refuses a timeout that is not below the interval ("Health check interval must be greater than the
 * timeout"; the HTTP default, 6 s, would fail), so the timeout is set too (range 2-120 s). The unhealthy count
 * keeps the old ~45 s before a serving pod is taken out (9 x 5 s, was 3 x 15 s): a ComfyUI busy loading a
 * model may answer slowly for a while. Ranges and defaults:
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html and
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-elasticloadbalancingv2-targetgroup.html
 */
export const ALB_HEALTH_CHECK = {
  intervalSeconds: 5,
  timeoutSeconds: 4,
  healthyThresholdCount: 2,
  unhealthyThresholdCount: 9,
} as const;

/**
 * The internal ALB that serves ComfyUI, created here so its ARN is known at synth time. Pods join its
 * target group through the Load Balancer Controller's TargetGroupBinding (IP targets), and nothing reaches
 * it except CloudFront's VPC origin (admitted by the CloudFrontEntry stack), plus the VPC or allow-listed
 * CIDRs when configured.
 */
export class ComfyuiLoadBalancer extends Construct {
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: ComfyuiLoadBalancerProps) {
    super(scope, id);

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'ComfyUI ALB: in from CloudFront (and configured direct access), out to ComfyUI pods only',
      allowAllOutbound: false,
    });
    // CloudFront's rule is added by the CloudFrontEntry stack (VpcOriginIngress): the group it admits exists
    // only once the VPC origin does.
    const listenerPort = ec2.Port.tcp(ALB_LISTENER_PORT);
    if (props.exposure === 'vpc') {
      this.securityGroup.addIngressRule(ec2.Peer.ipv4(props.vpcCidr), listenerPort, 'Clients inside the VPC');
    }
    if (props.exposure === 'cidrs') {
      for (const cidr of props.allowedCidrs) {
        this.securityGroup.addIngressRule(ec2.Peer.ipv4(cidr), listenerPort, `Allow-listed ${cidr}`);
      }
    }
    if (props.exposure !== 'cloudfront-only') {
      // Edge authentication runs in CloudFront: a client that reaches the ALB directly skips it.
      Annotations.of(this).addWarningV2(
        'comfyui:alb-bypasses-edge-auth',
        `albExposure is '${props.exposure}': clients admitted directly to the ALB reach ComfyUI without edge authentication.`,
      );
    }
    const podPort = ec2.Port.tcp(COMFYUI_PORT);
    this.securityGroup.addEgressRule(props.podSecurityGroup, podPort, 'To ComfyUI pods');
    props.podSecurityGroup.addIngressRule(this.securityGroup, podPort, 'From the ComfyUI ALB');

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'Alb', {
      vpc: props.vpc,
      internetFacing: false,
      // Its own subnets: the block NetworkPolicies admit to ComfyUI pods holds nothing else.
      vpcSubnets: { subnetGroupName: ALB_SUBNET_GROUP_NAME },
      securityGroup: this.securityGroup,
      idleTimeout: props.idleTimeout,
      dropInvalidHeaderFields: true,
    });
    this.loadBalancer.logAccessLogs(createLogBucket(this, 'AccessLogs', props.dataRemovalPolicy), 'alb');

    this.targetGroup = new elbv2.ApplicationTargetGroup(this, 'TargetGroup', {
      vpc: props.vpc,
      targetType: elbv2.TargetType.IP,
      protocol: elbv2.ApplicationProtocol.HTTP,
      port: COMFYUI_PORT,
      healthCheck: {
        path: COMFYUI_HEALTH_CHECK_PATH,
        healthyHttpCodes: '200',
        interval: Duration.seconds(ALB_HEALTH_CHECK.intervalSeconds),
        timeout: Duration.seconds(ALB_HEALTH_CHECK.timeoutSeconds),
        healthyThresholdCount: ALB_HEALTH_CHECK.healthyThresholdCount,
        unhealthyThresholdCount: ALB_HEALTH_CHECK.unhealthyThresholdCount,
      },
      // A browser's WebSocket and its POST /prompt must reach the same ComfyUI pod: its queue and progress
      // messages live in that process.
      stickinessCookieDuration: Duration.days(1),
      deregistrationDelay: Duration.seconds(60),
    });

    this.loadBalancer.addListener('Http', {
      port: ALB_LISTENER_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      open: false,
      defaultTargetGroups: [this.targetGroup],
    });
  }
}
