import { CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';
import { AppConfig } from '../config';
import { EdgeDistribution } from '../constructs/edge-distribution';
import { OUTPUT_KEYS } from '../names';

export interface CloudFrontEntryStackProps extends StackProps {
  readonly config: AppConfig;
  /** The internal ALB created by the cluster stack. */
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
}

/** `CloudFrontEntry`: the HTTPS front door of ComfyUI, reaching the internal ALB through a VPC origin. */
export class CloudFrontEntryStack extends Stack {
  readonly edge: EdgeDistribution;

  constructor(scope: Construct, id: string, props: CloudFrontEntryStackProps) {
    super(scope, id, props);
    this.edge = new EdgeDistribution(this, 'Edge', {
      loadBalancer: props.loadBalancer,
      dataRemovalPolicy: props.config.dataRemovalPolicy,
    });
    new CfnOutput(this, OUTPUT_KEYS.cloudFrontUrl, {
      value: `https://${this.edge.distribution.distributionDomainName}`,
    });
  }
}
