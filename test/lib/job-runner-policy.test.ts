import { Stack } from 'aws-cdk-lib';
import { expect, test } from 'vitest';
import { jobRunnerStatements } from '../../lib/policies/job-runner';

const scope = {
  queueArn: 'arn:aws:sqs:us-west-2:123456789012:comfyui-jobs',
  tableArn: 'arn:aws:dynamodb:us-west-2:123456789012:table/jobs',
  outputsBucketArn: 'arn:aws:s3:::outputs',
  outputsKeyPrefix: 'jobs/',
};
const statements = () => jobRunnerStatements(scope).map((s) => new Stack().resolve(s.toStatementJson()));

test("the job runner may read the jobs queue's attributes (its backlog for GET /scaling), on that queue only", () => {
  const reading = statements().filter((s) => [s.Action].flat().includes('sqs:GetQueueAttributes'));
  expect(reading).toEqual([{ Sid: 'ReadJobsBacklog', Effect: 'Allow', Action: 'sqs:GetQueueAttributes', Resource: scope.queueArn }]);
});

test('no statement of the job runner names a wildcard action or resource', () => {
  for (const statement of statements()) {
    expect([statement.Action].flat().join(' '), statement.Sid).not.toMatch(/\*/);
    expect(statement.Resource, statement.Sid).not.toBe('*');
  }
});
