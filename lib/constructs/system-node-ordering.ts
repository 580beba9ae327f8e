import * as eks from 'aws-cdk-lib/aws-eks';

/**
 * Installs every Helm chart of the cluster after the system node group exists. eks-blueprints installs the
 * Mountpoint S3 CSI driver and Karpenter with `helm --wait`, which waits for their controller pods, and those
 * pods need a Ready node; without this ordering CloudFormation may run the chart while the node group is still
 * being created, and the install times out (a flake on the first deploy). A chart that does not wait loses
 * nothing by waiting for the node group too. The tests check that the Mountpoint and Karpenter charts are among
 * those ordered, so a blueprint that created them elsewhere would be noticed.
 */
export function installChartsAfterSystemNodes(cluster: eks.Cluster): void {
  // The cluster's only managed node group is the system one; GPU nodes come from Karpenter, not node groups.
  const nodeGroups = cluster.node.children.filter((c): c is eks.Nodegroup => c instanceof eks.Nodegroup);
  if (nodeGroups.length !== 1) {
    throw new Error(
      `expected the cluster's one system node group, found ${nodeGroups.length}: update lib/constructs/system-node-ordering.ts`,
    );
  }
  const [nodeGroup] = nodeGroups;
  const charts = cluster.node.findAll().filter((c): c is eks.HelmChart => c instanceof eks.HelmChart);
  for (const chart of charts) chart.node.addDependency(nodeGroup);
}
