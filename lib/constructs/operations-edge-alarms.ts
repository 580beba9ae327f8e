import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { cloudFrontMetric } from './operations-metrics';

export interface EdgeAlarmsProps {
  readonly distributionId: string;
  readonly action: cloudwatch.IAlarmAction;
  /**
   * Turn on the distribution's additional metrics (origin latency, cache hit rate, 401/403/404/502/503/504 rates):
   * billed as custom metrics. @default false
   */
  readonly additionalMetrics?: boolean;
}

/** Percent of viewer requests answered 5xx that is no longer a blip: a pod restarting, the ALB without targets. */
export const CLOUDFRONT_5XX_PERCENT = 5;
/** Consecutive 5-minute periods above it. */
export const CLOUDFRONT_5XX_PERIODS = 2;

/**
 * CloudFront's alarms: the 5xx rate (AWS/CloudFront 5xxErrorRate, Average, in us-east-1). No requests, no data:
 * that is not an error.
 */
export class EdgeAlarms extends Construct {
  readonly serverErrors: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: EdgeAlarmsProps) {
    super(scope, id);
    this.serverErrors = new cloudwatch.Alarm(this, 'ServerErrorRate', {
      alarmDescription:
        `Over ${CLOUDFRONT_5XX_PERCENT}% of CloudFront requests got a 5xx for ${CLOUDFRONT_5XX_PERIODS * 5} minutes: ` +
        'ComfyUI pods not ready, the ALB target group unhealthy, or the jobs API failing (comfyctl doctor).',
      metric: cloudFrontMetric(props.distributionId, '5xxErrorRate', 'Average'),
      threshold: CLOUDFRONT_5XX_PERCENT,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: CLOUDFRONT_5XX_PERIODS,
      datapointsToAlarm: CLOUDFRONT_5XX_PERIODS,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.serverErrors.addAlarmAction(props.action);

    if (props.additionalMetrics) {
      new cloudfront.CfnMonitoringSubscription(this, 'AdditionalMetrics', {
        distributionId: props.distributionId,
        monitoringSubscription: { realtimeMetricsSubscriptionConfig: { realtimeMetricsSubscriptionStatus: 'Enabled' } },
      });
    }
  }
}
