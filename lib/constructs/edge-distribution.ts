import { Duration } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { DataRemovalPolicy } from '../config';
import { JOBS_API_PATH_PATTERN } from '../jobs/contract';
import { ALB_LISTENER_PORT } from './comfyui-load-balancer';
import { EdgeResponseHeaders, USER_FILE_PATH_PATTERNS } from './edge-response-headers';
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
  /**
   * The jobs API's function URL (AuthType AWS_IAM), served under JOBS_API_PATH_PATTERN through an origin access
   * control. @default no jobs behaviour
   */
  readonly jobsApiUrl?: lambda.IFunctionUrl;
  /**
   * The wake page's function URL (AuthType AWS_IAM, WakeFunction), an origin with id WAKE_ORIGIN_ID behind an origin
   * access control: the secondary of the origin group the viewer-request function makes for GET/HEAD while
   * autoscaling is on (its wakeOriginIds must be WAKE_ORIGIN_IDS). @default no wake page
   */
  readonly wakeUrl?: lambda.IFunctionUrl;
}

/** The ALB's origin id: fixed, so the viewer-request function can name it in an origin group. */
export const ALB_ORIGIN_ID = 'comfyui-alb';
/** The wake page's origin id. */
export const WAKE_ORIGIN_ID = 'comfyui-wake';
/** Primary and secondary of the function-made origin group, in that order. */
export const WAKE_ORIGIN_IDS = [ALB_ORIGIN_ID, WAKE_ORIGIN_ID] as const;
/**
 * The wake page's own behaviour (GET/HEAD): a distribution holds only origins some behaviour uses, so this one puts
 * the wake origin in it; opened directly it shows the page and counts a visit, behind the same authentication.
 */
export const WAKE_PATH_PATTERN = '/comfyui-wake';

/**
 * How long CloudFront waits for the origin (first byte, and between packets), and how long it keeps an idle
 * connection to the ALB. 120 s is the most a distribution may set without a quota increase: CloudFront's quota
 * page lists "Response timeout per origin: 1-120 seconds" and "Keep-alive timeout per origin: 1-120 seconds",
 * and the API reference of VpcOriginConfig gives the same maximum
 * (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html,
 * https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_VpcOriginConfig.html); 180 s still needs one.
 * ComfyUI answers most calls at once, but a /view of a large output, an /upload or /object_info with many
 * custom nodes can pass 60 s on a busy pod; renders report over the WebSocket, which this timeout does not cut.
 * The keep-alive stays below the ALB's idle timeout, as CloudFront requires.
 */
export const ORIGIN_TIMEOUT_SECONDS = 120;

/**
 * CloudFront in front of ComfyUI: HTTPS to viewers, nothing cached (every ComfyUI response is per-user
 * state or a fresh render), every viewer header, cookie and query string forwarded so WebSocket upgrades
 * work. ComfyUI's own Origin-vs-Host check covers only loopback hosts, so cross-site requests are refused at the
 * edge (lib/edge/viewer-auth.js), not by ComfyUI. Security headers come from EdgeResponseHeaders: the default
 * behaviour gets the web UI's, and a behaviour per USER_FILE_PATH_PATTERNS the sandboxing one, each otherwise
 * identical (same origin, policies and viewer-request function: every behaviour is a way in).
 */
export class EdgeDistribution extends Construct {
  readonly distribution: cloudfront.Distribution;
  /** The VPC origin of the ALB; CloudFront creates its service security group in the VPC with it. */
  readonly vpcOrigin: cloudfront.VpcOrigin;

  constructor(scope: Construct, id: string, props: EdgeDistributionProps) {
    super(scope, id);
    this.vpcOrigin = new cloudfront.VpcOrigin(this, 'VpcOrigin', {
      endpoint: cloudfront.VpcOriginEndpoint.applicationLoadBalancer(props.loadBalancer),
      protocolPolicy: cloudfront.OriginProtocolPolicy.HTTP_ONLY,
      httpPort: ALB_LISTENER_PORT,
    });
    const origin = origins.VpcOrigin.withVpcOrigin(this.vpcOrigin, {
      originId: ALB_ORIGIN_ID,
      readTimeout: Duration.seconds(ORIGIN_TIMEOUT_SECONDS),
      keepaliveTimeout: Duration.seconds(ORIGIN_TIMEOUT_SECONDS),
    });

    const headers = new EdgeResponseHeaders(this, 'ResponseHeaders');
    // With the wake page, one behaviour's request may go to the ALB or, failed over, to a Lambda URL, which must not
    // get the viewer's Host (its signature would not match); one policy serves both, so no ALB behaviour forwards
    // Host then: AllViewerExceptHostHeader is "designed for use with ... Lambda function URL origins"
    // (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html).
    // The ALB then sees its own name as Host: no listener rule matches on Host, and ComfyUI's Origin check only
    // applies to loopback hosts (server.py create_origin_only_middleware).
    const albRequestPolicy = props.wakeUrl
      ? cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER
      : cloudfront.OriginRequestPolicy.ALL_VIEWER;
    const behaviour = (
      responseHeadersPolicy: cloudfront.IResponseHeadersPolicy,
      target: cloudfront.IOrigin = origin,
      originRequestPolicy = albRequestPolicy,
      allowedMethods = cloudfront.AllowedMethods.ALLOW_ALL,
    ): cloudfront.BehaviorOptions => ({
      origin: target,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      allowedMethods,
      cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
      originRequestPolicy,
      responseHeadersPolicy,
      compress: false,
      functionAssociations: props.viewerRequestFunction
        ? [{ function: props.viewerRequestFunction, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }]
        : undefined,
    });

    // The jobs API: its function URL signed by an origin access control (SigV4, always), so the URL refuses anything
    // CloudFront did not sign. The Host header must be the function URL's own for the signature to match, hence every
    // viewer header but Host (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/
    // private-content-restricting-access-to-lambda.html). The UI's response headers: no framing, nosniff, HSTS.
    const jobsApi = (url: lambda.IFunctionUrl) => behaviour(
      headers.ui,
      origins.FunctionUrlOrigin.withOriginAccessControl(url),
      cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
    );

    // The wake page: GET and HEAD only (what an origin group fails over), signed like the jobs API.
    const wakePage = (url: lambda.IFunctionUrl) => behaviour(
      headers.ui,
      origins.FunctionUrlOrigin.withOriginAccessControl(url, { originId: WAKE_ORIGIN_ID }),
      cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      cloudfront.AllowedMethods.ALLOW_GET_HEAD,
    );

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'ComfyUI',
      defaultBehavior: behaviour(headers.ui),
      additionalBehaviors: {
        ...Object.fromEntries(USER_FILE_PATH_PATTERNS.map((pattern) => [pattern, behaviour(headers.userFiles)])),
        ...(props.jobsApiUrl ? { [JOBS_API_PATH_PATTERN]: jobsApi(props.jobsApiUrl) } : {}),
        ...(props.wakeUrl ? { [WAKE_PATH_PATTERN]: wakePage(props.wakeUrl) } : {}),
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
    if (props.jobsApiUrl) allowInvokeThroughUrl(this, 'JobsApiInvokeThroughUrl', props.jobsApiUrl, this.distribution);
    if (props.wakeUrl) allowInvokeThroughUrl(this, 'WakeInvokeThroughUrl', props.wakeUrl, this.distribution);
  }
}

/**
 * Function URLs created since October 2025 need two resource-policy grants for a caller: lambda:InvokeFunctionUrl
 * and lambda:InvokeFunction (https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html; CloudFront's guide above
 * grants CloudFront both). aws-cdk-lib 2.261's FunctionUrlOrigin.withOriginAccessControl adds only the first
 * (aws/aws-cdk#35872), and CloudFront would get 403 from the URL. This adds the second, for this distribution only
 * and only through the URL (lambda:InvokedViaFunctionUrl), so it grants no direct Invoke.
 */
function allowInvokeThroughUrl(scope: Construct, id: string, url: lambda.IFunctionUrl, distribution: cloudfront.IDistribution): void {
  new lambda.CfnPermission(scope, id, {
    action: 'lambda:InvokeFunction',
    principal: 'cloudfront.amazonaws.com',
    functionName: url.functionArn,
    sourceArn: distribution.distributionArn,
    invokedViaFunctionUrl: true,
  });
}
