import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as resolver from 'aws-cdk-lib/aws-route53resolver';
import { Construct } from 'constructs';
import { DnsFirewallMode } from '../config';
import { dnsAllowList } from '../dns-allow-list';

export interface DnsFirewallProps {
  readonly vpc: ec2.IVpc;
  /** `block` answers NXDOMAIN for names off the list, `alert` only logs them. */
  readonly mode: Exclude<DnsFirewallMode, 'off'>;
  /** Names allowed beside lib/dns-allow-list.ts (config `dnsAllowedDomains`). @default [] */
  readonly extraDomains?: readonly string[];
  readonly clusterName: string;
}

/**
 * Route 53 Resolver DNS Firewall on the cluster's VPC: names on the allow list resolve, every other name gets
 * NXDOMAIN (`block`) or is only logged (`alert`). Every query, and each firewall verdict, goes to a log group, so
 * an operator can see what was refused and add it to `dnsAllowedDomains`.
 *
 * The allow rule trusts the redirection chain of an allowed name
 * (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resolver-dns-firewall-rule-settings.html,
 * "domain redirection"): public.ecr.aws or aws.github.io answer with CNAMEs into CDN zones that the list does
 * not need to name, and the owners of those zones, not an attacker, choose the targets.
 *
 * Only the DNS channel is closed here: a pod that can reach an IP address still can, which is why ComfyUI's
 * NetworkPolicy allows it nothing but DNS.
 */
export class DnsFirewall extends Construct {
  readonly ruleGroup: resolver.CfnFirewallRuleGroup;
  readonly queryLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: DnsFirewallProps) {
    super(scope, id);
    const allowed = new resolver.CfnFirewallDomainList(this, 'Allowed', {
      name: `${props.clusterName}-allowed`,
      domains: dnsAllowList(props.extraDomains ?? []),
    });
    const everything = new resolver.CfnFirewallDomainList(this, 'Everything', {
      name: `${props.clusterName}-everything`,
      domains: ['*'],
    });
    this.ruleGroup = new resolver.CfnFirewallRuleGroup(this, 'Rules', {
      name: `${props.clusterName}-dns-allow-list`,
      firewallRules: [
        {
          priority: 100,
          action: 'ALLOW',
          firewallDomainListId: allowed.attrId,
          firewallDomainRedirectionAction: 'TRUST_REDIRECTION_DOMAIN',
        },
        props.mode === 'block'
          ? { priority: 200, action: 'BLOCK', blockResponse: 'NXDOMAIN', firewallDomainListId: everything.attrId }
          : { priority: 200, action: 'ALERT', firewallDomainListId: everything.attrId },
      ],
    });
    new resolver.CfnFirewallRuleGroupAssociation(this, 'Association', {
      name: `${props.clusterName}-dns-allow-list`,
      firewallRuleGroupId: this.ruleGroup.attrId,
      vpcId: props.vpc.vpcId,
      // 101..9899 are the customer's; 100 and 9900 belong to AWS Firewall Manager's first and last groups.
      priority: 1000,
      mutationProtection: 'DISABLED',
    });

    // Resolver query logs carry the firewall's action for each query, the only place a refused name shows up.
    this.queryLogGroup = new logs.LogGroup(this, 'QueryLogs', {
      retention: logs.RetentionDays.TWO_WEEKS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const queryLogs = new resolver.CfnResolverQueryLoggingConfig(this, 'QueryLogging', {
      name: `${props.clusterName}-dns-queries`,
      destinationArn: this.queryLogGroup.logGroupArn,
    });
    new resolver.CfnResolverQueryLoggingConfigAssociation(this, 'QueryLoggingAssociation', {
      resolverQueryLogConfigId: queryLogs.attrId,
      resourceId: props.vpc.vpcId,
    });
  }
}
