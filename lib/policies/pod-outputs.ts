import * as iam from 'aws-cdk-lib/aws-iam';

/**
 * Session tags EKS Pod Identity puts on every session of a pod's role, taken from the pod's own service-account
 * token (so a pod cannot choose them): https://docs.aws.amazon.com/eks/latest/userguide/pod-id-abac.html
 */
export const POD_IDENTITY_SESSION_TAGS = {
  clusterName: 'eks-cluster-name',
  namespace: 'kubernetes-namespace',
  serviceAccount: 'kubernetes-service-account',
  podName: 'kubernetes-pod-name',
} as const;

/** The EKS service that assumes Pod Identity roles: https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html */
export const POD_IDENTITY_SERVICE_PRINCIPAL = 'pods.eks.amazonaws.com';

/**
 * The calling pod's name, as an IAM policy variable: IAM replaces it with the session's tag at request time
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html). Kubernetes pod names
 * hold only lower-case letters, digits, '-' and '.', so the value can neither hold a '/' nor a wildcard.
 */
export const POD_NAME_VARIABLE = `\${aws:PrincipalTag/${POD_IDENTITY_SESSION_TAGS.podName}}`;

export interface PodOutputsScope {
  /** ARN of the outputs bucket. */
  readonly bucketArn: string;
  /** Key prefix that holds one folder per pod, ending in '/' (OUTPUTS_KEY_PREFIX); the PV mounts it. */
  readonly keyPrefix: string;
}

/**
 * What one ComfyUI pod's Mountpoint needs to ship that pod's outputs, and nothing more: create and replace
 * objects under `<keyPrefix><its own pod name>/`, and look names up (list the bucket's key names). Mountpoint 1.22.3 (the one the
 * pinned CSI driver v2.7.0 ships, its Dockerfile's MOUNTPOINT_VERSION) makes these calls for the output shipper
 * (https://github.com/awslabs/mountpoint-s3/blob/v1.22.3/doc/CONFIGURATION.md#iam-permissions):
 * - at mount, one ListObjectsV2 of the mounted prefix with max-keys=0 (mountpoint-s3-fs/src/s3/config.rs,
 *   validate_client_for_bucket): `MountProbe`, which can return no key;
 * - per name looked up (mkdir, stat, open), a HeadObject of `<folder>/<name>` and a ListObjectsV2 of
 *   `<folder>/<name>/` (mountpoint-s3-fs/src/superblock.rs, remote_lookup); the first lookup is the pod's
 *   own folder, `<prefix><pod>`, hence GetObject on that exact key too. HeadObject needs s3:GetObject, and
 *   answers 404 rather than 403 for a missing key only to a caller with s3:ListBucket
 *   (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html); a 403 is an I/O error in
 *   Mountpoint, and every new file starts with a lookup of a missing key. S3 documents that 404 only for "the
 *   s3:ListBucket permission on the bucket", not for a grant that holds under an s3:prefix condition (a
 *   HeadObject request carries no s3:prefix), so ListBucket is granted on the bucket without one: a pod may
 *   list every pod's key names (file names such as ComfyUI_00001_.png), never read or write their objects;
 *   that also covers the mount probe above;
 * - per file, PutObject or a multipart upload (s3:PutObject), aborted on failure (s3:AbortMultipartUpload).
 *
 * No s3:DeleteObject: the PV has no `allow-delete`. Overwrite stays (the PV's `allow-overwrite`): the
 * shipper copies a file again when an encoder rewrites it after its first copy, and after a sidecar restart
 * when the object's size differs. IAM cannot tell a new object from a replaced one (Mountpoint sends no
 * If-None-Match that s3:if-none-match could require), so the folder is the boundary: a pod may replace its
 * own outputs, never another pod's. Reading them back (GetObject) comes with HeadObject and stays in the folder.
 */
export function podOutputsStatements(scope: PodOutputsScope): iam.PolicyStatement[] {
  const { bucketArn, keyPrefix } = scope;
  if (!keyPrefix.endsWith('/') || keyPrefix.startsWith('/')) {
    throw new Error(`outputs key prefix must be a folder such as 'comfyui/', got '${keyPrefix}'`);
  }
  const folder = `${keyPrefix}${POD_NAME_VARIABLE}`;
  // A session without the pod-name tag (Pod Identity with session tags off) matches nothing.
  const tagged = { Null: { [`aws:PrincipalTag/${POD_IDENTITY_SESSION_TAGS.podName}`]: 'false' } };
  return [
    new iam.PolicyStatement({
      sid: 'ListOutputNames',
      actions: ['s3:ListBucket'],
      resources: [bucketArn],
      conditions: tagged,
    }),
    new iam.PolicyStatement({
      sid: 'LookUpOwnFolder',
      actions: ['s3:GetObject'],
      resources: [`${bucketArn}/${folder}`, `${bucketArn}/${folder}/*`],
      conditions: tagged,
    }),
    new iam.PolicyStatement({
      sid: 'WriteOwnFolder',
      actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
      resources: [`${bucketArn}/${folder}/*`],
      conditions: tagged,
    }),
  ];
}

/** Who may assume the role: EKS Pod Identity, for one service account of one namespace of one cluster. */
export interface PodIdentitySubject {
  readonly clusterName: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

/**
 * Trust-policy conditions on the session tags Pod Identity passes to AssumeRole
 * (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html, "Setting Conditions"): an association
 * made for another cluster, namespace or service account cannot use the role.
 */
export function podIdentityTrustConditions(subject: PodIdentitySubject): Record<string, Record<string, string>> {
  const tag = (key: string) => `aws:RequestTag/${key}`;
  return {
    StringEquals: {
      [tag(POD_IDENTITY_SESSION_TAGS.clusterName)]: subject.clusterName,
      [tag(POD_IDENTITY_SESSION_TAGS.namespace)]: subject.namespace,
      [tag(POD_IDENTITY_SESSION_TAGS.serviceAccount)]: subject.serviceAccount,
    },
  };
}
