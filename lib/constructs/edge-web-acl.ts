import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';

export interface EdgeWebAclProps {
  /** Requests one client IP may send in five minutes before WAF blocks it for a while. */
  readonly rateLimitPer5Minutes: number;
}

/**
 * Rules of the Common Rule Set that ComfyUI's own traffic trips, switched from block to count (still measured):
 * workflow JSON posted to /prompt is routinely over the set's 8 KB body limit, image uploads are binary bodies
 * that the cross-site-scripting body rule misreads, and the `ws` WebSocket client (comfyctl) sends no
 * User-Agent. https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-baseline.html#aws-managed-rule-groups-baseline-crs
 */
export const COMMON_RULES_COUNTED = ['SizeRestrictions_BODY', 'CrossSiteScripting_BODY', 'NoUserAgent_HEADER'] as const;

/**
 * The web ACL's rules: a per-IP rate limit, then the AWS managed Common Rule Set (no subscription fee). Two
 * rules keep the monthly price at the web ACL plus two rule charges.
 */
export function edgeWebAclRules(rateLimitPer5Minutes: number): wafv2.CfnWebACL.RuleProperty[] {
  return [
    {
      name: 'RateLimitPerIp',
      priority: 0,
      statement: { rateBasedStatement: { limit: rateLimitPer5Minutes, aggregateKeyType: 'IP', evaluationWindowSec: 300 } },
      action: { block: {} },
      visibilityConfig: visibility('RateLimitPerIp'),
    },
    {
      name: 'AwsCommonRuleSet',
      priority: 1,
      statement: {
        managedRuleGroupStatement: {
          vendorName: 'AWS',
          name: 'AWSManagedRulesCommonRuleSet',
          ruleActionOverrides: COMMON_RULES_COUNTED.map((name) => ({ name, actionToUse: { count: {} } })),
        },
      },
      overrideAction: { none: {} },
      visibilityConfig: visibility('AwsCommonRuleSet'),
    },
  ];
}

/**
 * An AWS WAF web ACL for the ComfyUI distribution. CloudFront only accepts a web ACL of scope CLOUDFRONT, and
 * those exist only in us-east-1: this construct must be created in a us-east-1 stack (EdgeWebAclStack).
 */
export class EdgeWebAcl extends Construct {
  readonly webAcl: wafv2.CfnWebACL;

  constructor(scope: Construct, id: string, props: EdgeWebAclProps) {
    super(scope, id);
    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'CLOUDFRONT',
      description: 'ComfyUI edge: per-IP rate limit and the AWS Common Rule Set',
      defaultAction: { allow: {} },
      rules: edgeWebAclRules(props.rateLimitPer5Minutes),
      visibilityConfig: visibility('ComfyuiEdge'),
    });
  }
}

function visibility(metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty {
  return { cloudWatchMetricsEnabled: true, metricName, sampledRequestsEnabled: true };
}
