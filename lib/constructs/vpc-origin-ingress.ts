import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';

/**
 * Name of the security group CloudFront creates in a VPC when the first VPC origin there is created; the
 * origin's ENIs carry it. https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-vpc-origins.html
 */
export const VPC_ORIGINS_SERVICE_SECURITY_GROUP = 'CloudFront-VPCOrigins-Service-SG';

export interface VpcOriginIngressProps {
  /** The VPC origin whose creation makes CloudFront create its service security group. */
  readonly vpcOrigin: cloudfront.IVpcOrigin;
  /**
   * The distribution that uses the origin: aws-cdk-lib's cloudfront-origins README says the group "may be
   * available after the distribution is deployed", so the lookup waits for both.
   */
  readonly distribution: cloudfront.IDistribution;
  /** The VPC of the origin (and of that service group). */
  readonly vpcId: string;
  /** The security group of the load balancer behind the origin. */
  readonly originSecurityGroupId: string;
  readonly port: number;
}

/**
 * Admits CloudFront's VPC-origin service security group to the origin's security group on one port. The
 * group exists only once the VPC origin does, so its id is looked up at deploy time (DescribeSecurityGroups by
 * name and VPC) after the origin and its distribution are created, the way aws-cdk's own deployed test for VPC origins
 * (framework-integ aws-cloudfront-origins/test/integ.vpc-origin.ts) and AWS's WebSocket-over-VPC-origins sample
 * do. One rule that references a group, where the origin-facing prefix list would weigh 55 of the 60 inbound
 * rules a security group may hold.
 */
export class VpcOriginIngress extends Construct {
  /** Id of CloudFront's service security group in the VPC. */
  readonly serviceSecurityGroupId: string;

  constructor(scope: Construct, id: string, props: VpcOriginIngressProps) {
    super(scope, id);
    const call: cr.AwsSdkCall = {
      service: 'EC2',
      action: 'describeSecurityGroups',
      parameters: {
        Filters: [
          { Name: 'vpc-id', Values: [props.vpcId] },
          { Name: 'group-name', Values: [VPC_ORIGINS_SERVICE_SECURITY_GROUP] },
        ],
      },
      physicalResourceId: cr.PhysicalResourceId.of(`${VPC_ORIGINS_SERVICE_SECURITY_GROUP}-${props.vpcId}`),
      outputPaths: ['SecurityGroups.0.GroupId'],
    };
    const lookup = new cr.AwsCustomResource(this, 'ServiceGroupLookup', {
      onCreate: call,
      onUpdate: call,
      // DescribeSecurityGroups supports no resource-level permission; the call only reads.
      policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: cr.AwsCustomResourcePolicy.ANY_RESOURCE }),
      installLatestAwsSdk: false,
    });
    lookup.node.addDependency(props.vpcOrigin, props.distribution);
    this.serviceSecurityGroupId = lookup.getResponseField('SecurityGroups.0.GroupId');

    new ec2.CfnSecurityGroupIngress(this, 'Ingress', {
      groupId: props.originSecurityGroupId,
      sourceSecurityGroupId: this.serviceSecurityGroupId,
      ipProtocol: 'tcp',
      fromPort: props.port,
      toPort: props.port,
      description: `CloudFront VPC origin (${VPC_ORIGINS_SERVICE_SECURITY_GROUP})`,
    });
  }
}
