import * as eks from 'aws-cdk-lib/aws-eks';
import * as iam from 'aws-cdk-lib/aws-iam';

/** Construct id of the inline policy eks-blueprints' S3CSIDriverAddOn attaches to the driver's IRSA role. */
const DRIVER_POLICY_ID = 's3-csi-driver-policy';

/**
 * Removes the S3 access eks-blueprints 1.19.0 gives the Mountpoint CSI driver's own role
 * (dist/addons/s3-csi-driver: ListBucket, Get/Put/Abort and DeleteObject on every bucket in `bucketNames`;
 * with none it still writes a policy, whose empty statements fail synth). Driver-level credentials would let
 * every pod's mount act on every object; the outputs PV uses the pod's own credentials instead
 * (`authenticationSource: pod`, PodOutputsAccess), and with them the driver ignores its own
 * (docs/CONFIGURATION.md of the driver, "Pod-Level Credentials"). The role itself stays, without a policy.
 */
export function removeS3CsiDriverBucketAccess(cluster: eks.ICluster): void {
  const policy = cluster.node.tryFindChild(DRIVER_POLICY_ID);
  if (!(policy instanceof iam.Policy)) {
    throw new Error(
      `Mountpoint CSI driver policy '${DRIVER_POLICY_ID}' not found under the cluster; an eks-blueprints upgrade may ` +
        'have changed it: update lib/constructs/s3-csi-driver-role.ts',
    );
  }
  cluster.node.tryRemoveChild(DRIVER_POLICY_ID);
}
