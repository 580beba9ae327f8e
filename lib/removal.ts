import { RemovalPolicy } from 'aws-cdk-lib';
import { DataRemovalPolicy } from './config';

/** Maps the `dataRemovalPolicy` config choice onto CloudFormation's removal policy. */
export function toRemovalPolicy(policy: DataRemovalPolicy): RemovalPolicy {
  return policy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
}
