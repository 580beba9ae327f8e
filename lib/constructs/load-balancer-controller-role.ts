import * as eks from 'aws-cdk-lib/aws-eks';
import * as iam from 'aws-cdk-lib/aws-iam';
import { targetGroupBindingStatements } from '../policies/load-balancer-controller';

/** Construct id of the service account eks-blueprints' AwsLoadBalancerControllerAddOn creates under the cluster. */
const CONTROLLER_SERVICE_ACCOUNT_ID = 'aws-load-balancer-controller';

/**
 * Replaces the Load Balancer Controller's IAM policy with what our one TargetGroupBinding needs
 * (targetGroupBindingStatements): eks-blueprints 1.19.0 adds the whole upstream policy to the service
 * account's role, one statement at a time, with no prop to pass another. The document is replaced on the
 * role's default policy (the L1 resource), so cdk-nag and the template both see the final one.
 */
export function restrictLoadBalancerControllerRole(cluster: eks.ICluster, targetGroupArn: string): void {
  const serviceAccount = cluster.node.tryFindChild(CONTROLLER_SERVICE_ACCOUNT_ID);
  const policy = serviceAccount instanceof eks.ServiceAccount ? serviceAccount.role.node.tryFindChild('DefaultPolicy') : undefined;
  if (!(policy instanceof iam.Policy)) {
    throw new Error(
      `Load Balancer Controller service account '${CONTROLLER_SERVICE_ACCOUNT_ID}' with a role default policy not found ` +
        'under the cluster; an eks-blueprints upgrade may have changed it: update lib/constructs/load-balancer-controller-role.ts',
    );
  }
  (policy.node.defaultChild as iam.CfnPolicy).policyDocument = new iam.PolicyDocument({
    statements: targetGroupBindingStatements(targetGroupArn),
  });
}
