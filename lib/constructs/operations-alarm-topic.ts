import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { alarmKeyStatement, alarmPublishStatement } from '../policies/operations-alarm-topic';

export interface OperationsAlarmTopicProps {
  /** Address that receives every alarm; SNS first sends it a confirmation link. @default no subscription */
  readonly email?: string;
}

/**
 * The SNS topic every alarm of a region notifies: encrypted with its own rotating KMS key (CloudWatch cannot
 * publish to a topic under SNS's AWS managed key), TLS-only, publishable only by this account's alarms.
 */
export class OperationsAlarmTopic extends Construct {
  readonly topic: sns.Topic;
  /** The alarm action that notifies the topic. */
  readonly action: cloudwatch.IAlarmAction;

  constructor(scope: Construct, id: string, props: OperationsAlarmTopicProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    const key = new kms.Key(this, 'Key', {
      description: 'Encrypts the ComfyUI alarm topic',
      enableKeyRotation: true,
      // It protects notifications in flight, nothing stored: a retained key would only cost $1 a month forever.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    key.addToResourcePolicy(alarmKeyStatement());
    this.topic = new sns.Topic(this, 'Topic', { masterKey: key, enforceSSL: true });
    this.topic.addToResourcePolicy(
      alarmPublishStatement(this.topic.topicArn, { partition: stack.partition, region: stack.region, account: stack.account }),
    );
    if (props.email) this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
    this.action = new actions.SnsAction(this.topic);
  }
}
