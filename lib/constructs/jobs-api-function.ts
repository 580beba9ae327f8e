import { Duration, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { JOBS_API_ENV } from '../../lambda/jobs-api/settings';
import { JOBS } from '../jobs/contract';
import { jobsApiStatements } from '../policies/jobs-functions';
import { JobsLambda } from './jobs-lambda';
import { JobsTable } from './jobs-table';

/** How long a job view's presigned output URLs work (docs/jobs.md: "presigned, 15 minutes"). */
export const OUTPUT_URL_SECONDS = 15 * 60;

/**
 * Under CloudFront's default origin response timeout for a function URL origin (30 s, https://docs.aws.amazon.com/
 * AmazonCloudFront/latest/DeveloperGuide/DownloadDistValuesOrigin.html#DownloadDistValuesOriginResponseTimeout), so a
 * stuck call ends as the function's own error, not a 504; every request is a few DynamoDB, SQS or S3 calls.
 */
const TIMEOUT = Duration.seconds(25);

export interface JobsApiFunctionProps {
  readonly table: JobsTable;
  readonly queue: sqs.IQueue;
  /** The templates bucket, by name: the same ARN whether the stack created the bucket or adopted a retained one. */
  readonly templatesBucketName: string;
  /** The outputs bucket, by name (a plain name, so no export ties the stacks). */
  readonly outputsBucketName: string;
  /** Edge user names who see and cancel every user's jobs. */
  readonly admins: readonly string[];
  /** Days a job record is kept (its `expires_at`). */
  readonly retentionDays: number;
}

/**
 * lambda/jobs-api behind a function URL that only accepts IAM-signed requests (AuthType AWS_IAM): CloudFront's origin
 * access control signs them (EdgeDistribution), so nobody reaches it but through the edge authentication that sets
 * the caller's identity header. 512 MiB: Lambda gives CPU in proportion to memory, and the API parses and validates
 * workflows of up to 300 KB on the request path. No reserved concurrency: Lambda lets an account reserve only what
 * exceeds 100 unreserved (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html), so on a new
 * account (a quota of 10 or 50) any reservation fails the deploy; only authenticated users reach this function, and
 * the queue-fed functions are capped by their event sources' maximum concurrency instead.
 */
export class JobsApiFunction extends Construct {
  readonly function: lambda.IFunction;
  readonly functionUrl: lambda.FunctionUrl;

  constructor(scope: Construct, id: string, props: JobsApiFunctionProps) {
    super(scope, id);
    const bucketArn = (name: string) => `arn:${Stack.of(this).partition}:s3:::${name}`;
    const lambdaFunction = new JobsLambda(this, 'Api', {
      lambdaFolder: 'jobs-api',
      description: 'Jobs API: job items and the byOwner index, the jobs queue, templates/, presigned jobs/ outputs',
      statements: jobsApiStatements({
        tableArn: props.table.table.tableArn,
        ownerIndexArn: props.table.ownerIndexArn,
        queueArn: props.queue.queueArn,
        templatesBucketArn: bucketArn(props.templatesBucketName),
        templatesKeyPrefix: JOBS.templatesKeyPrefix,
        outputsBucketArn: bucketArn(props.outputsBucketName),
        outputsKeyPrefix: JOBS.outputsKeyPrefix,
      }),
      environment: {
        [JOBS_API_ENV.tableName]: props.table.table.tableName,
        [JOBS_API_ENV.queueUrl]: props.queue.queueUrl,
        [JOBS_API_ENV.templatesBucketName]: props.templatesBucketName,
        [JOBS_API_ENV.outputsBucketName]: props.outputsBucketName,
        [JOBS_API_ENV.admins]: props.admins.join(','),
        [JOBS_API_ENV.retentionDays]: String(props.retentionDays),
        [JOBS_API_ENV.outputUrlSeconds]: String(OUTPUT_URL_SECONDS),
      },
      timeout: TIMEOUT,
      memorySize: 512,
    });
    this.function = lambdaFunction.function;
    this.functionUrl = lambdaFunction.function.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM });
  }
}
