import * as iam from 'aws-cdk-lib/aws-iam';

/**
 * The read actions of the AWS Load Balancer Controller's published policy, for EC2 and Elastic Load
 * Balancing (https://github.com/kubernetes-sigs/aws-load-balancer-controller/blob/v3.4.0/docs/install/iam_policy.json,
 * the same list eks-blueprints 1.19.0 ships). A TargetGroupBinding needs a few of them (DescribeTargetGroups
 * in the binding's webhook, DescribeTargetHealth before each change, DescribeVpcs to tell in-VPC pod IPs,
 * DescribeSecurityGroups for the rule clean-up every reconcile runs); all stay, since a read the controller
 * misses fails the binding only on a live cluster, and none of them changes anything.
 */
const CONTROLLER_READ_ACTIONS = [
  'ec2:DescribeAccountAttributes',
  'ec2:DescribeAddresses',
  'ec2:DescribeAvailabilityZones',
  'ec2:DescribeInternetGateways',
  'ec2:DescribeVpcs',
  'ec2:DescribeVpcPeeringConnections',
  'ec2:DescribeSubnets',
  'ec2:DescribeSecurityGroups',
  'ec2:DescribeInstances',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeTags',
  'ec2:GetCoipPoolUsage',
  'ec2:DescribeCoipPools',
  'ec2:GetSecurityGroupsForVpc',
  'ec2:DescribeIpamPools',
  'ec2:DescribeRouteTables',
  'elasticloadbalancing:DescribeLoadBalancers',
  'elasticloadbalancing:DescribeLoadBalancerAttributes',
  'elasticloadbalancing:DescribeListeners',
  'elasticloadbalancing:DescribeListenerCertificates',
  'elasticloadbalancing:DescribeSSLPolicies',
  'elasticloadbalancing:DescribeRules',
  'elasticloadbalancing:DescribeTargetGroups',
  'elasticloadbalancing:DescribeTargetGroupAttributes',
  'elasticloadbalancing:DescribeTargetHealth',
  'elasticloadbalancing:DescribeTags',
  'elasticloadbalancing:DescribeTrustStores',
  'elasticloadbalancing:DescribeListenerAttributes',
  'elasticloadbalancing:DescribeCapacityReservation',
];

/**
 * What the Load Balancer Controller needs for our one TargetGroupBinding (IP targets, no `networking`
 * section; manifests/base/target-group-binding.yaml): register and deregister ComfyUI pods in that one
 * target group, and read. The ALB, its listener, the target group and every security group rule are
 * CloudFormation's (ComfyuiLoadBalancer), so none of the upstream policy's write actions is needed: no
 * security group create, authorize or revoke (the controller changes rules only for a binding's
 * `networking` section, and revokes only rules it labelled itself), no load balancer, listener, rule or
 * target group create/modify/delete, no tags, no WAF, Shield, ACM or Cognito (Ingress features; the chart
 * runs with WAF and Shield off and we create no Ingress or LoadBalancer Service). An Ingress or a
 * LoadBalancer Service created by hand would fail with AccessDenied rather than build internet-facing load
 * balancers.
 *
 * DescribeTargetGroups, DescribeTargetHealth and the EC2 Describe actions have no resource-level permission
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awselasticloadbalancingv2.html),
 * hence `*`; RegisterTargets and DeregisterTargets name the target group.
 */
export function targetGroupBindingStatements(targetGroupArn: string): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'ReadLoadBalancingAndNetwork',
      actions: CONTROLLER_READ_ACTIONS,
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      sid: 'RegisterComfyuiPods',
      actions: ['elasticloadbalancing:RegisterTargets', 'elasticloadbalancing:DeregisterTargets'],
      resources: [targetGroupArn],
    }),
  ];
}
