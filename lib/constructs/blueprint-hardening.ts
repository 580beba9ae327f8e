import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';

/**
 * Tightens two resources eks-blueprints creates with looser settings than ours:
 * - the envelope-encryption KMS key of Kubernetes secrets gets yearly automatic rotation;
 * - the Karpenter interruption queue refuses requests without TLS.
 * Each is found by the construct id eks-blueprints 1.19.0 gives it; a rename fails synth here.
 */
export function hardenBlueprintResources(stack: Stack, clusterName: string): void {
  const key = stack.node.tryFindChild(`${stack.node.id}-kms-key`) ?? stack.node.tryFindChild(`${clusterName}-kms-key`);
  if (!(key instanceof kms.Key)) throw missing('secrets KMS key', `${stack.node.id}-kms-key`);
  (key.node.defaultChild as kms.CfnKey).enableKeyRotation = true;

  const queue = stack.node.tryFindChild('karpenter-queue');
  if (!(queue instanceof sqs.Queue)) throw missing('Karpenter interruption queue', 'karpenter-queue');
  queue.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'DenyInsecureTransport',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['sqs:*'],
      resources: [queue.queueArn],
      conditions: { Bool: { 'aws:SecureTransport': 'false' } },
    }),
  );
}

function missing(what: string, id: string): Error {
  return new Error(
    `eks-blueprints' ${what} ('${id}') not found in the cluster stack; an eks-blueprints upgrade may have renamed it: ` +
      'update lib/constructs/blueprint-hardening.ts',
  );
}
