import * as eks from 'aws-cdk-lib/aws-eks';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Stack } from 'aws-cdk-lib';
import {
  GPU_NODE_MANAGED_POLICIES,
  modelsBucketReadStatements,
  modelSyncLogStatements,
  ssmAgentRunCommandStatements,
} from '../policies/node-role';

/** Construct id eks-blueprints' KarpenterV1AddOn gives the node role it creates under the cluster. */
const KARPENTER_NODE_ROLE_ID = 'karpenter-node-role';

/**
 * Finds the node role the Karpenter add-on created and cuts it down to what GPU nodes need:
 * the managed policies in GPU_NODE_MANAGED_POLICIES, what the SSM agent needs to run the model-sync command
 * (and no Parameter Store read), read-only access to the models bucket, and write access to the log group
 * that receives the model-sync command's output.
 * The add-on also attaches AmazonEKS_CNI_Policy; it is dropped here because aws-node gets it from its own
 * IRSA role (the VPC CNI add-on's ServiceAccountRoleArn, set in the cluster stack).
 */
export function restrictGpuNodeRole(cluster: eks.ICluster, modelsBucketArn: string, syncLogGroupName: string): iam.Role {
  const role = cluster.node.tryFindChild(KARPENTER_NODE_ROLE_ID);
  if (!(role instanceof iam.Role)) {
    throw new Error(
      `Karpenter node role '${KARPENTER_NODE_ROLE_ID}' not found under the cluster; ` +
        'an eks-blueprints upgrade may have renamed it: update KARPENTER_NODE_ROLE_ID in lib/constructs/gpu-node-role.ts',
    );
  }
  // Replaces the add-on's list on the L1 resource, so cdk-nag and the template both see the final set.
  (role.node.defaultChild as iam.CfnRole).managedPolicyArns = GPU_NODE_MANAGED_POLICIES.map(
    (name) => iam.ManagedPolicy.fromAwsManagedPolicyName(name).managedPolicyArn,
  );
  role.attachInlinePolicy(new iam.Policy(role, 'SsmAgent', { statements: ssmAgentRunCommandStatements() }));
  role.attachInlinePolicy(
    new iam.Policy(role, 'ModelsBucketRead', { statements: modelsBucketReadStatements(modelsBucketArn) }),
  );
  const { partition, region, account } = Stack.of(role);
  role.attachInlinePolicy(
    new iam.Policy(role, 'ModelSyncLogs', {
      statements: modelSyncLogStatements({ partition, region, account, logGroupName: syncLogGroupName }),
    }),
  );
  return role;
}
