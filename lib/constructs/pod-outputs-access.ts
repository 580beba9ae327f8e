import { Stack } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { COMFYUI_NAMESPACE, COMFYUI_SERVICE_ACCOUNT, OUTPUTS_KEY_PREFIX } from '../names';
import { podOutputsStatements } from '../policies/pod-outputs';
import { podIdentityRole } from './pod-identity-role';

export interface PodOutputsAccessProps {
  /** The cluster whose ComfyUI pods get the role. */
  readonly cluster: eks.ICluster;
  /** Name of the outputs bucket (a plain name, so no export ties the stacks). */
  readonly bucketName: string;
  /** Namespace of the ComfyUI pods. @default COMFYUI_NAMESPACE */
  readonly namespace?: string;
  /** Service account of the ComfyUI pods. @default COMFYUI_SERVICE_ACCOUNT */
  readonly serviceAccount?: string;
  /** Key prefix that holds one folder per pod; the outputs PV mounts it. @default OUTPUTS_KEY_PREFIX */
  readonly keyPrefix?: string;
}

/**
 * Each ComfyUI pod's own, narrow access to the outputs bucket: an IAM role for EKS Pod Identity, associated
 * with the ComfyUI service account, whose policy lets a session write only below `<keyPrefix><pod name>/`,
 * with the pod name taken from the session tag Pod Identity derives from the pod's token.
 *
 * The outputs PersistentVolume asks the Mountpoint CSI driver for `authenticationSource: pod`: the driver v2.7.0
 * (lib/versions.ts) then gives each pod's Mountpoint the pod's own token for `pods.eks.amazonaws.com` and the
 * node's Pod Identity agent URI (pkg/driver/node/credentialprovider/provider_pod.go: IRSA when the service
 * account has a role annotation, Pod Identity otherwise; the chart's CSIDriver requests both token audiences),
 * so every pod's uploads are signed with a session tagged with that pod's name. The driver's own role keeps no
 * S3 access (removeS3CsiDriverBucketAccess).
 */
export class PodOutputsAccess extends Construct {
  readonly role: iam.Role;
  readonly association: eks.CfnPodIdentityAssociation;

  constructor(scope: Construct, id: string, props: PodOutputsAccessProps) {
    super(scope, id);
    const namespace = props.namespace ?? COMFYUI_NAMESPACE;
    const serviceAccount = props.serviceAccount ?? COMFYUI_SERVICE_ACCOUNT;
    const stack = Stack.of(this);
    ({ role: this.role, association: this.association } = podIdentityRole(this, {
      clusterName: props.cluster.clusterName,
      namespace,
      serviceAccount,
      description: `ComfyUI pods' Mountpoint: write only under ${props.bucketName}/${props.keyPrefix ?? OUTPUTS_KEY_PREFIX}<pod name>/`,
      // The policy needs the kubernetes-pod-name session tag, which podIdentityRole keeps on.
      inlinePolicies: {
        OwnOutputsFolder: new iam.PolicyDocument({
          statements: podOutputsStatements({
            bucketArn: `arn:${stack.partition}:s3:::${props.bucketName}`,
            keyPrefix: props.keyPrefix ?? OUTPUTS_KEY_PREFIX,
          }),
        }),
      },
    }));
  }
}
