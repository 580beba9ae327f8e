import * as iam from 'aws-cdk-lib/aws-iam';

export interface CloudWatchAgentScope {
  /** `arn:<partition>:logs:<region>:<account>`: where the cluster's Container Insights log groups live. */
  readonly logsArnPrefix: string;
  /** The EKS cluster's name: Container Insights names its log groups `/aws/containerinsights/<cluster>/<kind>`. */
  readonly clusterName: string;
}

/**
 * Every log group the Amazon CloudWatch Observability add-on writes for one cluster: the agent's `performance`
 * (Container Insights metrics as embedded metric format) and Fluent Bit's `application`, `host` and `dataplane`
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Container-Insights-EKS-logs.html).
 */
export function containerInsightsLogGroupPrefix(clusterName: string): string {
  return `/aws/containerinsights/${clusterName}/`;
}

/**
 * What the add-on's cloudwatch-agent service account (the CloudWatch agent and Fluent Bit pods) needs, instead of
 * the AWS managed CloudWatchAgentServerPolicy and AWSXrayWriteOnlyAccess that the add-on documents
 * (https://docs.aws.amazon.com/eks/latest/userguide/amazon-cloudwatch-observability.html):
 * - Container Insights with enhanced observability sends its metrics, GPU metrics included, as embedded metric
 *   format log events (the agent's `logs.metrics_collected.kubernetes`), not PutMetricData; Fluent Bit ships
 *   container logs. Both create their groups and streams on first use: logs actions on this cluster's
 *   `/aws/containerinsights/<cluster>/` groups only. No PutRetentionPolicy: neither sets retention here.
 * - ec2:DescribeTags and ec2:DescribeVolumes, which the agent's Container Insights receiver calls for the node's
 *   Auto Scaling group and EBS volume ids; EC2 Describe actions have no resource-level permission.
 * Left out of the managed policy: cloudwatch:PutMetricData (only the agent's `metrics` section, unused here),
 * ssm:GetParameter (agent config from Parameter Store; the add-on passes it as a ConfigMap), X-Ray (Application
 * Signals, off in lib/addons/cloudwatch-observability.ts).
 */
export function cloudWatchAgentStatements(scope: CloudWatchAgentScope): iam.PolicyStatement[] {
  return [
    ...logGroupWriteStatements(`${scope.logsArnPrefix}:log-group:${containerInsightsLogGroupPrefix(scope.clusterName)}*`),
    new iam.PolicyStatement({
      sid: 'NodeDescription',
      actions: ['ec2:DescribeTags', 'ec2:DescribeVolumes'],
      resources: ['*'],
    }),
  ];
}

/**
 * What a CloudWatch agent needs to send to the log groups `groupArn` names (one ARN, or a pattern): create the group
 * on first use and its streams, which it names at run time, and put events in them.
 */
export function logGroupWriteStatements(groupArn: string): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({ sid: 'LogGroups', actions: ['logs:CreateLogGroup', 'logs:DescribeLogStreams'], resources: [groupArn] }),
    new iam.PolicyStatement({ sid: 'LogStreams', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [`${groupArn}:log-stream:*`] }),
  ];
}
