import * as iam from 'aws-cdk-lib/aws-iam';

/**
 * The wake function's one call: SendMessage to the wake queue, nothing else (no receive, no delete: nobody consumes
 * it, messages expire). SSE-SQS needs no KMS permission
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-server-side-encryption.html);
 * SendMessage's resource type is the queue (https://docs.aws.amazon.com/service-authorization/latest/reference/
 * list_amazonsqs.html).
 */
export function wakeStatements(scope: { readonly queueArn: string }): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({ sid: 'CountVisits', actions: ['sqs:SendMessage'], resources: [scope.queueArn] }),
  ];
}
