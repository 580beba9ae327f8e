import * as iam from 'aws-cdk-lib/aws-iam';

/** Where the alarm topic lives: its account's alarms, and no one else's, may publish to it. */
export interface AlarmTopicScope {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
}

/**
 * The topic policy statement that lets this account's CloudWatch alarms publish, and no other account's (the
 * confused-deputy conditions of "Amazon SNS topic policy", https://docs.aws.amazon.com/AmazonCloudWatch/latest/
 * monitoring/Notify_Users_Alarm_Changes.html). A topic policy replaces SNS's default one, so this must be explicit.
 */
export function alarmPublishStatement(topicArn: string, scope: AlarmTopicScope): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'CloudWatchAlarmsOfThisAccount',
    principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
    actions: ['sns:Publish'],
    resources: [topicArn],
    conditions: {
      ArnLike: { 'aws:SourceArn': `arn:${scope.partition}:cloudwatch:${scope.region}:${scope.account}:alarm:*` },
      StringEquals: { 'aws:SourceAccount': scope.account },
    },
  });
}

/**
 * The key policy statement that lets CloudWatch alarms publish to a topic encrypted with this key: CloudWatch
 * needs kms:Decrypt and kms:GenerateDataKey* on a customer managed key, and cannot use SNS's AWS managed key
 * (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services). In a key
 * policy `*` means this key.
 */
export function alarmKeyStatement(): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'CloudWatchAlarmsPublishEncrypted',
    principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
    actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
    resources: ['*'],
  });
}
