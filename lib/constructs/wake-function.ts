import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { WAKE_ENV } from '../../lambda/wake/settings';
import { wakeStatements } from '../policies/wake';
import { JobsLambda } from './jobs-lambda';

/**
 * Well under CloudFront's default response timeout for a function URL origin (30 s, https://docs.aws.amazon.com/
 * AmazonCloudFront/latest/DeveloperGuide/DownloadDistValuesOrigin.html#DownloadDistValuesOriginResponseTimeout): one
 * SendMessage, then the page.
 */
const TIMEOUT = Duration.seconds(10);

export interface WakeFunctionProps {
  /** The wake queue (WakeQueue); the function may only SendMessage to it. */
  readonly queue: sqs.IQueue;
  /** The wait the page announces (config coldStartEstimateMinutes). */
  readonly coldStartEstimateMinutes: number;
}

/**
 * lambda/wake behind a function URL that accepts only IAM-signed requests (AuthType AWS_IAM), like the jobs API:
 * CloudFront's origin access control signs them (EdgeDistribution), so it is reached only through the edge
 * authentication, as the secondary of the origin group the viewer-request function makes for GET/HEAD.
 */
export class WakeFunction extends Construct {
  readonly function: lambda.IFunction;
  readonly functionUrl: lambda.FunctionUrl;

  constructor(scope: Construct, id: string, props: WakeFunctionProps) {
    super(scope, id);
    const wake = new JobsLambda(this, 'Wake', {
      lambdaFolder: 'wake',
      description: 'Wake page: SendMessage to the wake queue only',
      statements: wakeStatements({ queueArn: props.queue.queueArn }),
      environment: {
        [WAKE_ENV.queueUrl]: props.queue.queueUrl,
        [WAKE_ENV.coldStartMinutes]: String(props.coldStartEstimateMinutes),
      },
      timeout: TIMEOUT,
    });
    this.function = wake.function;
    this.functionUrl = wake.function.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM });
  }
}
