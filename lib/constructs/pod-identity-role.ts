import * as eks from 'aws-cdk-lib/aws-eks';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { podIdentityPrincipal } from '../policies/pod-identity-principal';

export interface PodIdentityRoleProps {
  /** Name of the cluster whose pods use the role (it must exist before the association). */
  readonly clusterName: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** Says what the role may do, for whoever reads the IAM console. */
  readonly description: string;
  /** The role's only permissions. */
  readonly inlinePolicies: Record<string, iam.PolicyDocument>;
}

export interface PodIdentityRole {
  readonly role: iam.Role;
  readonly association: eks.CfnPodIdentityAssociation;
}

/**
 * An IAM role for EKS Pod Identity and its association, for one service account of one namespace of one cluster:
 * the shape every pod identity here shares (PodOutputsAccess, JobRunnerAccess, KedaAccess, the metrics scraper).
 * Created as `Role` and `Association` directly in `scope`, so the owners' logical IDs stay as they were.
 *
 * The trust policy's conditions read the session tags Pod Identity passes (podIdentityPrincipal), so the tags are
 * kept on explicitly: with them off the role could not be assumed, and the outputs policy also reads the pod name tag.
 */
export function podIdentityRole(scope: Construct, props: PodIdentityRoleProps): PodIdentityRole {
  const { clusterName, namespace, serviceAccount } = props;
  const role = new iam.Role(scope, 'Role', {
    description: props.description,
    assumedBy: podIdentityPrincipal({ clusterName, namespace, serviceAccount }),
    inlinePolicies: props.inlinePolicies,
  });
  const association = new eks.CfnPodIdentityAssociation(scope, 'Association', {
    clusterName, namespace, serviceAccount, roleArn: role.roleArn, disableSessionTags: false,
  });
  return { role, association };
}
