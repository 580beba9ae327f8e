import { Annotations } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks';
import { IConstruct } from 'constructs';

/** Prints the public IP this machine reaches AWS from (AWS's own service). */
export const CHECK_IP_COMMAND = 'curl -s https://checkip.amazonaws.com';

/**
 * Who may reach the cluster's Kubernetes API endpoint
 * (https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html). The private endpoint is always
 * on: the nodes use it, and so does CloudFormation's kubectl handler, a Lambda function that aws-eks places
 * in the VPC's private subnets whenever private access is on. The public endpoint is on only for the
 * configured CIDRs; with none, the cluster answers only inside the VPC.
 */
export function clusterEndpointAccess(publicCidrs: readonly string[]): eks.EndpointAccess {
  return publicCidrs.length === 0
    ? eks.EndpointAccess.PRIVATE
    : eks.EndpointAccess.PUBLIC_AND_PRIVATE.onlyFrom(...publicCidrs);
}

/** Says at synth what the endpoint setting means for kubectl: private only, or open to the whole internet. */
export function warnAboutClusterEndpoint(cluster: IConstruct, publicCidrs: readonly string[]): void {
  if (publicCidrs.length === 0) {
    Annotations.of(cluster).addWarningV2(
      'comfyui:private-cluster-endpoint',
      'The Kubernetes API endpoint is private (clusterEndpointPublicCidrs is empty): kubectl works only from inside ' +
        'the VPC. To use kubectl from this machine, deploy with ' +
        `-c clusterEndpointPublicCidrs="$(${CHECK_IP_COMMAND})/32", or set the list in cdk.json's comfyui object.`,
    );
  } else if (publicCidrs.includes('0.0.0.0/0')) {
    Annotations.of(cluster).addWarningV2(
      'comfyui:open-cluster-endpoint',
      'clusterEndpointPublicCidrs includes 0.0.0.0/0: anyone on the internet can reach the Kubernetes API endpoint ' +
        `(every call still needs IAM authentication). List your own networks instead, e.g. "$(${CHECK_IP_COMMAND})/32".`,
    );
  }
}
