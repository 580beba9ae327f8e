import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, CreateLogGroupCommand, CreateLogStreamCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { CreateSubnetCommand, CreateVpcCommand, EC2Client, RunInstancesCommand, StopInstancesCommand } from '@aws-sdk/client-ec2';
import { CreateTargetGroupCommand, ElasticLoadBalancingV2Client, RegisterTargetsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { MODEL_SYNC_DOCUMENT_NAME, OUTPUT_KEYS, STACK_NAMES } from '../../lib/names';

/** What one seeded deployment looks like in moto; `broken` adds the faults doctor must find. */
export interface SeedOptions {
  readonly endpoint: string;
  /** Each deployment gets its own region, so the healthy and the broken one never see each other's state. */
  readonly region: string;
  /** The edge in front of ComfyUI (the loopback stand-in of CloudFront). */
  readonly cloudFrontUrl: string;
  /** Instances that report a successful sync. */
  readonly syncedNodes: readonly string[];
  readonly broken?: {
    /** Nodes whose sync log ends in this FAILED: line. */
    readonly failedNodes: readonly string[];
    readonly failure: string;
  };
}

export const SYNC_DONE = 'done: 2 downloaded (12.0 GiB), 0 deleted; cache holds 2 objects, 12.0 GiB';

/** A template with nothing to create but the outputs `cdk deploy` would print. */
function outputsTemplate(outputs: Record<string, string>): string {
  return JSON.stringify({
    Resources: { Handle: { Type: 'AWS::CloudFormation::WaitConditionHandle' } },
    Outputs: Object.fromEntries(Object.entries(outputs).map(([key, value]) => [key, { Value: value }])),
  });
}

async function seedTargetGroup(config: { region: string; endpoint: string }, healthy: boolean): Promise<string> {
  const ec2 = new EC2Client(config);
  const elb = new ElasticLoadBalancingV2Client(config);
  const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.40.0.0/16' }))).Vpc!.VpcId!;
  if (healthy) {
    const group = (await elb.send(new CreateTargetGroupCommand({ Name: 'comfyui', Protocol: 'HTTP', Port: 8188, VpcId: vpc, TargetType: 'ip' }))).TargetGroups![0];
    await elb.send(new RegisterTargetsCommand({ TargetGroupArn: group.TargetGroupArn, Targets: [{ Id: '10.40.2.17', Port: 8188 }] }));
    return group.TargetGroupArn!;
  }
  // moto reports an instance target's health from the instance's state: a stopped one is `unused`.
  const subnet = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: '10.40.2.0/24' }))).Subnet!.SubnetId!;
  const instance = (await ec2.send(new RunInstancesCommand({ ImageId: 'ami-12c6146b', MinCount: 1, MaxCount: 1, SubnetId: subnet }))).Instances![0].InstanceId!;
  const group = (await elb.send(new CreateTargetGroupCommand({ Name: 'comfyui', Protocol: 'HTTP', Port: 8188, VpcId: vpc, TargetType: 'instance' }))).TargetGroups![0];
  await elb.send(new RegisterTargetsCommand({ TargetGroupArn: group.TargetGroupArn, Targets: [{ Id: instance }] }));
  await ec2.send(new StopInstancesCommand({ InstanceIds: [instance] }));
  return group.TargetGroupArn!;
}

async function seedSyncQueue(sqs: SQSClient, deadLetters: number): Promise<string> {
  const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'LambdaModelsSync-DeadLetterQueue' }))).QueueUrl!;
  const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  const queueUrl = (await sqs.send(new CreateQueueCommand({
    QueueName: 'LambdaModelsSync-Queue',
    Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 5 }) },
  }))).QueueUrl!;
  for (let i = 0; i < deadLetters; i += 1) {
    await sqs.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: JSON.stringify({ Records: [{ s3: { object: { key: `checkpoints/m${i}.safetensors` } } }] }) }));
  }
  return queueUrl;
}

/** Sync reports as the nodes write them: an SSM command per bucket change, and each node's output stream. */
async function seedSyncReports(config: { region: string; endpoint: string }, logGroup: string, options: SeedOptions): Promise<void> {
  const logs = new CloudWatchLogsClient(config);
  await logs.send(new CreateLogGroupCommand({ logGroupName: logGroup }));
  const write = async (stream: string, lastLine: string) => {
    await logs.send(new CreateLogStreamCommand({ logGroupName: logGroup, logStreamName: stream }));
    const now = Date.now();
    await logs.send(new PutLogEventsCommand({
      logGroupName: logGroup, logStreamName: stream,
      logEvents: [{ message: '[model-sync] full sync of s3://models', timestamp: now - 60_000 }, { message: `[model-sync] ${lastLine}`, timestamp: now - 30_000 }],
    }));
  };
  if (!options.broken) {
    const sent = await new SSMClient(config).send(new SendCommandCommand({
      DocumentName: MODEL_SYNC_DOCUMENT_NAME, InstanceIds: [...options.syncedNodes], Parameters: { keys: [''] },
      CloudWatchOutputConfig: { CloudWatchOutputEnabled: true, CloudWatchLogGroupName: logGroup },
    }));
    for (const node of options.syncedNodes) await write(`${sent.Command!.CommandId}/${node}/syncModels/stdout`, SYNC_DONE);
    return;
  }
  for (const node of options.syncedNodes) await write(`boot-1/${node}/syncModels/stdout`, SYNC_DONE);
  for (const node of options.broken.failedNodes) await write(`boot-2/${node}/syncModels/stdout`, options.broken.failure);
}

/**
 * Creates in moto what `cdk deploy --all` leaves behind and doctor reads (stacks with their outputs, the outputs
 * bucket, the sync queue and its DLQ, the ALB target group, sync reports) and writes the cdk-outputs.json for it.
 * The broken variant: CloudFrontEntry not deployed, no outputs bucket, 2 messages in the DLQ, a stopped target, a
 * failed node sync.
 */
export async function seedDeployment(options: SeedOptions): Promise<string> {
  const config = { region: options.region, endpoint: options.endpoint };
  const broken = options.broken !== undefined;
  const bucket = `comfyui-outputs-${options.region}`;
  if (!broken) await new S3Client({ ...config, forcePathStyle: true }).send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: options.region as never } }));
  const queueUrl = await seedSyncQueue(new SQSClient(config), broken ? 2 : 0);
  const targetGroupArn = await seedTargetGroup(config, !broken);
  const logGroup = '/comfyui/studio/model-sync';
  await seedSyncReports(config, logGroup, options);
  const outputs: Record<string, Record<string, string>> = {
    [STACK_NAMES.ecrRepo]: { [OUTPUT_KEYS.ecrRepositoryUri]: `123456789012.dkr.ecr.${options.region}.amazonaws.com/comfyui` },
    [STACK_NAMES.outputsStorage]: { [OUTPUT_KEYS.outputsBucketName]: bucket },
    [STACK_NAMES.modelsSync]: { [OUTPUT_KEYS.modelsBucketName]: 'comfyui-models', [OUTPUT_KEYS.modelSyncQueueUrl]: queueUrl, [OUTPUT_KEYS.modelSyncLogGroupName]: logGroup },
    [STACK_NAMES.cluster]: {
      [OUTPUT_KEYS.clusterName]: 'studio', [OUTPUT_KEYS.region]: options.region,
      [OUTPUT_KEYS.kubeconfigCommand]: `aws eks update-kubeconfig --name studio --region ${options.region}`,
      [OUTPUT_KEYS.targetGroupArn]: targetGroupArn, [OUTPUT_KEYS.karpenterNodeRoleName]: 'KarpenterNodeRole',
      [OUTPUT_KEYS.clusterSecurityGroupId]: 'sg-0a1b2c3d4e5f60718', [OUTPUT_KEYS.nodeSyncBundleUrl]: 's3://assets/node-sync.zip',
    },
    [STACK_NAMES.cloudFrontEntry]: { [OUTPUT_KEYS.cloudFrontUrl]: options.cloudFrontUrl },
  };
  const cfn = new CloudFormationClient(config);
  for (const [stack, values] of Object.entries(outputs)) {
    if (broken && stack === STACK_NAMES.cloudFrontEntry) continue;
    await cfn.send(new CreateStackCommand({ StackName: stack, TemplateBody: outputsTemplate(values) }));
  }
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'doctor-outputs-')), 'cdk-outputs.json');
  writeFileSync(file, JSON.stringify(outputs, null, 2));
  return file;
}
