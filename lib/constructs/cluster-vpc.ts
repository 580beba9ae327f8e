import * as blueprints from '@aws-quickstart/eks-blueprints';
import { Tags } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { ALB_SUBNET_MASK, albSubnetsCidr, cidrContains, cidrsOverlap } from '../alb-subnets';
import { DnsFirewallMode } from '../config';
import { ALB_SUBNET_GROUP_NAME, KARPENTER_DISCOVERY_TAG } from '../names';
import { DnsFirewall } from './dns-firewall';

export interface ClusterVpcProps {
  /** EKS cluster name: tags subnets for Karpenter discovery and load balancers. */
  readonly clusterName: string;
  readonly cidr: string;
  readonly maxAzs: number;
  readonly natGateways: number;
  /** The VPC's DNS firewall (config `dnsFirewall`). */
  readonly dnsFirewall: DnsFirewallMode;
  /** Names the DNS firewall allows beside its own list (config `dnsAllowedDomains`). */
  readonly dnsAllowedDomains: readonly string[];
}

/**
 * Provides the cluster's VPC to eks-blueprints: nodes in private subnets behind NAT, public subnets for
 * NAT only, small isolated subnets that hold only the internal ALB, an S3 gateway endpoint (model sync and
 * outputs traffic skip NAT charges), rejected-traffic flow logs, a DNS firewall that resolves only the names
 * the deployment needs, and the subnet tags Karpenter and the Load Balancer Controller look up.
 */
export class ClusterVpcProvider implements blueprints.ResourceProvider<ec2.IVpc> {
  constructor(private readonly props: ClusterVpcProps) {}

  provide(context: blueprints.ResourceContext): ec2.IVpc {
    const { clusterName, cidr, maxAzs, natGateways, dnsFirewall, dnsAllowedDomains } = this.props;
    const vpc = new ec2.Vpc(context.scope, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(cidr),
      maxAzs,
      natGateways,
      subnetConfiguration: [
        // First, so its subnets fill the VPC's first /24 alone (see albSubnetsCidr).
        { name: ALB_SUBNET_GROUP_NAME, subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: ALB_SUBNET_MASK },
        { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
        // /19 per AZ: the VPC CNI gives every pod a VPC address.
        { name: 'Private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 19 },
      ],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    });

    // https://docs.aws.amazon.com/eks/latest/userguide/network-load-balancing.html#lb-subnet-tags
    for (const subnet of vpc.publicSubnets) Tags.of(subnet).add('kubernetes.io/role/elb', '1');
    for (const subnet of vpc.privateSubnets) {
      Tags.of(subnet).add('kubernetes.io/role/internal-elb', '1');
      Tags.of(subnet).add(KARPENTER_DISCOVERY_TAG, clusterName);
    }

    checkAlbSubnetsBlock(vpc, cidr);
    if (dnsFirewall !== 'off') {
      new DnsFirewall(context.scope, 'DnsFirewall', { vpc, mode: dnsFirewall, extraDomains: dnsAllowedDomains, clusterName });
    }

    vpc.addFlowLog('RejectedTraffic', {
      trafficType: ec2.FlowLogTrafficType.REJECT,
      destination: ec2.FlowLogDestination.toCloudWatchLogs(
        new logs.LogGroup(context.scope, 'VpcFlowLogs', { retention: logs.RetentionDays.ONE_MONTH }),
      ),
    });
    return vpc;
  }
}

/** Fails synth if the ALB subnets left the block NetworkPolicies admit, or another subnet entered it. */
function checkAlbSubnetsBlock(vpc: ec2.Vpc, vpcCidr: string): void {
  const block = albSubnetsCidr(vpcCidr);
  const alb = vpc.selectSubnets({ subnetGroupName: ALB_SUBNET_GROUP_NAME }).subnets.map((s) => s.ipv4CidrBlock);
  const others = [...vpc.publicSubnets, ...vpc.privateSubnets].map((s) => s.ipv4CidrBlock);
  const outside = alb.filter((c) => !cidrContains(block, c));
  const intruders = others.filter((c) => cidrsOverlap(block, c));
  if (outside.length > 0 || intruders.length > 0) {
    throw new Error(
      `ALB subnets must fill ${block} alone (NetworkPolicies admit that block): ` +
        `outside it ${outside.join(', ') || 'none'}; other subnets inside it ${intruders.join(', ') || 'none'}`,
    );
  }
}
