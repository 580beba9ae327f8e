import { Annotations, CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { AppConfig } from '../config';
import { EdgeAuth } from '../constructs/edge-auth';
import { ALB_LISTENER_PORT } from '../constructs/comfyui-load-balancer';
import { EdgeDistribution, WAKE_ORIGIN_IDS } from '../constructs/edge-distribution';
import { VpcOriginIngress } from '../constructs/vpc-origin-ingress';
import { WakeFunction } from '../constructs/wake-function';
import { WakeQueue } from '../constructs/wake-queue';
import { OUTPUT_KEYS } from '../names';

export interface CloudFrontEntryStackProps extends StackProps {
  readonly config: AppConfig;
  /** The internal ALB created by the cluster stack. */
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  /** The ALB's security group: CloudFront's VPC-origin service group is admitted to it here. */
  readonly albSecurityGroup: ec2.ISecurityGroup;
  /** The VPC of the ALB. */
  readonly vpc: ec2.IVpc;
  /** ARN of the us-east-1 web ACL (EdgeWebAclStack), read through a cross-region reference. @default no WAF */
  readonly webAclArn?: string;
  /** The jobs API's function URL (JobsStack), routed under `/render-api/*`. @default no jobs API (config `jobs` off) */
  readonly jobsApiUrl?: lambda.IFunctionUrl;
}

/**
 * `CloudFrontEntry`: the HTTPS front door of ComfyUI, reaching the internal ALB through a VPC origin, whose
 * service security group it admits to the ALB's (the only CloudFront rule on the ALB). Every
 * request is authenticated at the edge (EdgeAuth) unless the config turns that off explicitly. With `waf` on,
 * it attaches the web ACL of the `CloudFrontEntryWebAcl` stack (us-east-1). With `autoscaling` on, it also holds the
 * wake page (docs/scaling-design.md section 4): the wake queue KEDA reads and the function CloudFront fails over
 * to while no ComfyUI pod answers; the queue lives here, in the cluster's region, named so KEDA's role needs no export.
 */
export class CloudFrontEntryStack extends Stack {
  readonly edge: EdgeDistribution;
  readonly edgeAuth?: EdgeAuth;
  /** Only with autoscaling and edge authentication on: the page works through the viewer-request function. */
  readonly wakeQueue?: WakeQueue;
  readonly wakeFunction?: WakeFunction;

  constructor(scope: Construct, id: string, props: CloudFrontEntryStackProps) {
    const { config } = props;
    super(scope, id, { ...props, crossRegionReferences: props.webAclArn !== undefined });
    const wake = config.autoscaling && config.edgeAuth;
    if (wake) {
      this.wakeQueue = new WakeQueue(this, 'WakeQueue', { clusterName: config.clusterName });
      this.wakeFunction = new WakeFunction(this, 'Wake', {
        queue: this.wakeQueue.queue,
        coldStartEstimateMinutes: config.coldStartEstimateMinutes,
      });
    }
    this.edgeAuth = config.edgeAuth
      ? new EdgeAuth(this, 'EdgeAuth', { wakeOriginIds: wake ? WAKE_ORIGIN_IDS : undefined })
      : undefined;
    this.edge = new EdgeDistribution(this, 'Edge', {
      loadBalancer: props.loadBalancer,
      viewerRequestFunction: this.edgeAuth?.viewerRequestFunction,
      webAclArn: props.webAclArn,
      dataRemovalPolicy: config.dataRemovalPolicy,
      jobsApiUrl: props.jobsApiUrl,
      wakeUrl: this.wakeFunction?.functionUrl,
    });
    new VpcOriginIngress(this, 'VpcOriginIngress', {
      vpcOrigin: this.edge.vpcOrigin,
      distribution: this.edge.distribution,
      vpcId: props.vpc.vpcId,
      originSecurityGroupId: props.albSecurityGroup.securityGroupId,
      port: ALB_LISTENER_PORT,
    });
    if (!this.edgeAuth) {
      Annotations.of(this.edge).addWarningV2(
        'comfyui:edge-auth-off',
        'edgeAuth is false: anyone who knows the CloudFront URL can use ComfyUI and its GPUs.',
      );
      if (config.autoscaling) {
        Annotations.of(this.edge).addWarningV2(
          'comfyui:wake-page-off',
          'edgeAuth is false, so there is no wake page: with no GPU running, browsers get the load balancer\'s 503 and visits do not start one.',
        );
      }
    }

    new CfnOutput(this, OUTPUT_KEYS.cloudFrontUrl, {
      value: `https://${this.edge.distribution.distributionDomainName}`,
    });
    if (this.edgeAuth) {
      new CfnOutput(this, OUTPUT_KEYS.edgeUsersStoreArn, {
        value: this.edgeAuth.usersStore.keyValueStoreArn,
        description: 'KeyValueStore of ComfyUI users; manage it with comfyctl users',
      });
    }
  }
}
