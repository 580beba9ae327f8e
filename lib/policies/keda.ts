import * as iam from 'aws-cdk-lib/aws-iam';

/** The queues KEDA's operator reads the depth of (docs/scaling.md): the jobs queue and the wake queue. */
export interface KedaScope {
  /** ARNs of the queues the ScaledObject's aws-sqs-queue triggers name. */
  readonly queueArns: readonly string[];
}

/**
 * KEDA's aws-sqs-queue scaler calls only GetQueueAttributes (ApproximateNumberOfMessages, and
 * ApproximateNumberOfMessagesNotVisible for scaleOnInFlight; KEDA 2.20.2 `pkg/scalers/aws_sqs_queue_scaler.go`),
 * which https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-permissions-reference.html
 * authorizes as sqs:GetQueueAttributes on the queue. No receive, send or delete: KEDA only counts.
 */
export function kedaStatements(scope: KedaScope): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'ReadQueueDepth',
      actions: ['sqs:GetQueueAttributes'],
      resources: [...scope.queueArns],
    }),
  ];
}

/** A queue's ARN from its name (SQS names are per account and region), so no export ties the stacks. */
export function queueArn(partition: string, region: string, account: string, queueName: string): string {
  return `arn:${partition}:sqs:${region}:${account}:${queueName}`;
}
