import { Annotations, CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { AppConfig } from '../config';
import { EdgeAuth } from '../constructs/edge-auth';
import { ALB_LISTENER_PORT } from '../constructs/comfyui-load-balancer';
import { EdgeDistribution } from '../constructs/edge-distribution';
import { VpcOriginIngress } from '../constructs/vpc-origin-ingress';
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
 * it attaches the web ACL of the `CloudFrontEntryWebAcl` stack (us-east-1).
 */
export class CloudFrontEntryStack extends Stack {
  readonly edge: EdgeDistribution;
  readonly edgeAuth?: EdgeAuth;

  constructor(scope: Construct, id: string, props: CloudFrontEntryStackProps) {
    const { config } = props;
    super(scope, id, { ...props, crossRegionReferences: props.webAclArn !== undefined });
    this.edgeAuth = config.edgeAuth ? new EdgeAuth(this, 'EdgeAuth') : undefined;
    this.edge = new EdgeDistribution(this, 'Edge', {
      loadBalancer: props.loadBalancer,
      viewerRequestFunction: this.edgeAuth?.viewerRequestFunction,
      webAclArn: props.webAclArn,
      dataRemovalPolicy: config.dataRemovalPolicy,
      jobsApiUrl: props.jobsApiUrl,
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
