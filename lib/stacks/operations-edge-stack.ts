import { Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { AppConfig } from '../config';
import { OperationsAlarmTopic } from '../constructs/operations-alarm-topic';
import { EdgeAlarms } from '../constructs/operations-edge-alarms';

export interface OperationsEdgeStackProps extends StackProps {
  readonly config: AppConfig;
  /** The distribution's id, read from CloudFrontEntry through a cross-region reference. */
  readonly distributionId: string;
}

/**
 * `ComfyuiOperationsEdge` (us-east-1): CloudFront publishes its metrics in us-east-1 only, and an alarm must live in
 * its metric's region and notify a topic of that region; so the 5xx alarm has its own topic here, with the same
 * email subscription. With cloudFrontAdditionalMetrics it also turns on the distribution's additional metrics.
 */
export class OperationsEdgeStack extends Stack {
  readonly topic: OperationsAlarmTopic;
  readonly alarms: EdgeAlarms;

  constructor(scope: Construct, id: string, props: OperationsEdgeStackProps) {
    super(scope, id, { ...props, crossRegionReferences: true });
    this.topic = new OperationsAlarmTopic(this, 'AlarmTopic', { email: props.config.alarmEmail });
    this.alarms = new EdgeAlarms(this, 'Alarms', {
      distributionId: props.distributionId,
      action: this.topic.action,
      additionalMetrics: props.config.cloudFrontAdditionalMetrics,
    });
  }
}
