import * as blueprints from '@aws-quickstart/eks-blueprints';
import * as eks from 'aws-cdk-lib/aws-eks';
import { Construct } from 'constructs';

/**
 * A GenericClusterProvider that never creates eks-blueprints' default masters role. That role trusts the
 * whole account (any principal allowed sts:AssumeRole becomes cluster admin); we map exactly one
 * configured admin principal instead (see grantClusterAdmin in cluster-admin.ts).
 */
export class AdminScopedClusterProvider extends blueprints.GenericClusterProvider {
  constructor(props: blueprints.GenericClusterProviderProps) {
    super(props);
  }

  protected internalCreateCluster(scope: Construct, id: string, clusterOptions: eks.ClusterProps): eks.Cluster {
    const { mastersRole, ...options } = clusterOptions;
    // GenericClusterProvider.createCluster made the account-wide role before calling us; drop it unused.
    if (mastersRole && scope.node.tryFindChild(`${options.clusterName ?? id}-AccessRole`) === mastersRole) {
      scope.node.tryRemoveChild(`${options.clusterName ?? id}-AccessRole`);
    }
    return new eks.Cluster(scope, id, options);
  }
}
