import { Stack } from 'aws-cdk-lib';
import { expect, test } from 'vitest';
import { modelSyncStatements } from '../../lib/policies/model-sync';

test('the model-sync Lambda may ask SSM which nodes are online, on every resource (the action has no '
  + 'resource-level permission)', () => {
  const statements = modelSyncStatements({
    partition: 'aws', region: 'us-west-2', account: '123456789012', clusterName: 'comfyui', documentName: 'ComfyUI-SyncModels',
  }).map((s) => new Stack().resolve(s.toStatementJson()));
  expect(statements).toContainEqual({
    Sid: 'CheckNodesOnlineInSsm', Effect: 'Allow', Action: 'ssm:DescribeInstanceInformation', Resource: '*',
  });
});
