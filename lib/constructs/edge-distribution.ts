import { Duration } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';
import { DataRemovalPolicy } from '../config';
import { ALB_LISTENER_PORT } from './comfyui-load-balancer';
import { createLogBucket } from './secure-bucket';

export interface EdgeDistributionProps {
  /** The internal ALB that serves ComfyUI; CloudFront reaches it through a VPC origin. */
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  /**
   * Viewer-request function run before every request of every behaviour (edge authentication plugs in here).
   * @default none: anyone who reaches CloudFront reaches ComfyUI
   */
  readonly viewerRequestFunction?: cloudfront.IFunction;
  /** ARN of a CloudFront-scoped (us-east-1) AWS WAF web ACL. @default no web ACL */
  readonly webAclArn?: string;
  readonly dataRemovalPolicy: DataRemovalPolicy;
}

/**
 * CloudFront in front of ComfyUI: HTTPS to viewers, nothing cached (every ComfyUI response is per-user
 * state or a fresh render), every viewer header, cookie and query string forwarded so WebSocket upgrades
 * work. Host is forwarded too: ComfyUI rejects browser requests whose Origin does not match Host.
 */
export class EdgeDistribution extends Construct {
  readonly distribution: cloudfront.Distribution;

  constructor(scope: Construct, id: string, props: EdgeDistributionProps) {
    super(scope, id);
    const origin = origins.VpcOrigin.withApplicationLoadBalancer(props.loadBalancer, {
      protocolPolicy: cloudfront.OriginProtocolPolicy.HTTP_ONLY,
      httpPort: ALB_LISTENER_PORT,
      // 60 s is the most CloudFront allows without a quota increase; ComfyUI answers API calls in far less,
      // and long renders report over the WebSocket, which this timeout does not cut.
      readTimeout: Duration.seconds(60),
      keepaliveTimeout: Duration.seconds(60),
    });

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'ComfyUI',
      defaultBehavior: {
        origin,
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
        cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
        originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER,
        compress: false,
        functionAssociations: props.viewerRequestFunction
          ? [{ function: props.viewerRequestFunction, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }]
          : undefined,
      },
      webAclId: props.webAclArn,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      enableLogging: true,
      // CloudFront standard logging delivers through an ACL grant.
      logBucket: createLogBucket(this, 'AccessLogs', props.dataRemovalPolicy, { aclWritable: true }),
      logFilePrefix: 'cloudfront/',
    });
  }
}
