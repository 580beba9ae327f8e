import * as iam from 'aws-cdk-lib/aws-iam';
import { objectsUnder } from './key-folder';

/** What the job runner (comfyui_image/job_runner) may touch: one queue, one table, one prefix of one bucket. */
export interface JobRunnerScope {
  /** ARN of the jobs queue. */
  readonly queueArn: string;
  /** ARN of the jobs table (the runner reads and updates job items by key; it never queries the index). */
  readonly tableArn: string;
  /** ARN of the outputs bucket. */
  readonly outputsBucketArn: string;
  /** Prefix the runner writes job outputs under, ending in '/' (JOBS.outputsKeyPrefix: `jobs/`). */
  readonly outputsKeyPrefix: string;
}

/**
 * The runner's calls, per docs/jobs.md ("Runner"), and nothing more:
 * - SQS: long-poll the jobs queue, delete a finished or dropped job's message, extend its visibility while the job
 *   runs and set it to 0 when handing a job back (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/
 *   SQSDeveloperGuide/sqs-api-permissions-reference.html);
 * - DynamoDB: GetItem to read a job, UpdateItem for every conditional transition, heartbeat and progress
 *   (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/api-permissions-reference.html);
 * - SQS GetQueueAttributes: the queue's visible backlog (ApproximateNumberOfMessages), part of the demand the runner
 *   serves KEDA on GET /scaling (docs/scaling-design.md, section 3); read every few seconds, on this queue only;
 * - S3: upload each output under `jobs/`; a multipart upload (CreateMultipartUpload, UploadPart,
 *   CompleteMultipartUpload) is authorized by s3:PutObject, and aborting one needs s3:AbortMultipartUpload
 *   (https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions). No read, list or
 *   delete: the API presigns the downloads with its own role.
 */
export function jobRunnerStatements(scope: JobRunnerScope): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'TakeJobs',
      actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility'],
      resources: [scope.queueArn],
    }),
    new iam.PolicyStatement({
      sid: 'ReadJobsBacklog',
      actions: ['sqs:GetQueueAttributes'],
      resources: [scope.queueArn],
    }),
    new iam.PolicyStatement({
      sid: 'RunJobs',
      actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      resources: [scope.tableArn],
    }),
    new iam.PolicyStatement({
      sid: 'UploadJobOutputs',
      actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
      resources: [objectsUnder(scope.outputsBucketArn, scope.outputsKeyPrefix)],
    }),
  ];
}
