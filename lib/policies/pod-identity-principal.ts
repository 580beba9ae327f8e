import * as iam from 'aws-cdk-lib/aws-iam';
import { PodIdentitySubject, podIdentityTrustConditions, POD_IDENTITY_SERVICE_PRINCIPAL } from './pod-outputs';

/**
 * Who may assume a Pod Identity role: EKS Pod Identity, for one service account of one namespace of one cluster.
 * Pod Identity calls sts:AssumeRole and sts:TagSession (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html),
 * and the conditions read the session tags it passes, so an association made for any other subject cannot use the role.
 */
export function podIdentityPrincipal(subject: PodIdentitySubject): iam.IPrincipal {
  return new iam.SessionTagsPrincipal(
    new iam.PrincipalWithConditions(new iam.ServicePrincipal(POD_IDENTITY_SERVICE_PRINCIPAL), podIdentityTrustConditions(subject)),
  );
}
