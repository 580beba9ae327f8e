import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';

/** The AWS-managed prefix list of CloudFront's origin-facing addresses. */
export const CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST = 'com.amazonaws.global.cloudfront.origin-facing';

/**
 * Resolves the CloudFront origin-facing prefix list's id at deploy time. The id differs per region, and a
 * synth-time lookup would need credentials; a one-call custom resource keeps synth offline.
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/LocationsOfEdgeServers.html#managed-prefix-list
 */
export class CloudFrontPrefixList extends Construct {
  readonly prefixListId: string;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const call: cr.AwsSdkCall = {
      service: 'EC2',
      action: 'describeManagedPrefixLists',
      parameters: { Filters: [{ Name: 'prefix-list-name', Values: [CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST] }] },
      physicalResourceId: cr.PhysicalResourceId.of(CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST),
      outputPaths: ['PrefixLists.0.PrefixListId'],
    };
    const lookup = new cr.AwsCustomResource(this, 'Lookup', {
      onCreate: call,
      onUpdate: call,
      // DescribeManagedPrefixLists supports no resource-level permission.
      policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: cr.AwsCustomResourcePolicy.ANY_RESOURCE }),
      installLatestAwsSdk: false,
    });
    this.prefixListId = lookup.getResponseField('PrefixLists.0.PrefixListId');
  }

  /** The prefix list as a security group peer. */
  get peer(): ec2.IPeer {
    return ec2.Peer.prefixList(this.prefixListId);
  }
}
