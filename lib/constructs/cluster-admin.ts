import { Annotations } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks';
import * as iam from 'aws-cdk-lib/aws-iam';

/**
 * Maps the one configured admin principal (an IAM role or user) to `system:masters`. Without one, only
 * CloudFormation's kubectl handler administers the cluster, and synth says how to add an admin.
 */
export function grantClusterAdmin(cluster: eks.Cluster, adminArn: string | undefined): void {
  if (adminArn === undefined) {
    Annotations.of(cluster).addWarningV2(
      'comfyui:no-cluster-admin',
      'No cluster admin configured: kubectl will be refused. Deploy with ' +
        '-c clusterAdminArn="$(aws sts get-caller-identity --query Arn --output text)"',
    );
    return;
  }
  if (adminArn.includes(':user/')) {
    cluster.awsAuth.addUserMapping(iam.User.fromUserArn(cluster, 'AdminUser', adminArn), {
      groups: ['system:masters'],
      username: 'comfyui-admin',
    });
  } else {
    cluster.awsAuth.addMastersRole(iam.Role.fromRoleArn(cluster, 'AdminRole', adminArn, { mutable: false }), 'comfyui-admin');
  }
}
