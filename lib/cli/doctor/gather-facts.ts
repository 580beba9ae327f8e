import { existsSync, readFileSync } from 'node:fs';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { EDGE_WEB_ACL_STACK_NAME, modelSyncLogGroupName, OUTPUT_KEYS, STACK_NAMES } from '../../names';
import { AwsOptions, awsClientConfig } from '../aws-options';
import { nodeStatuses } from '../models/sync-report';
import { readLogReports, readSsmInvocations, SourceAnswer } from '../models/sync-report-sources';
import { valueOf } from './answers';
import { DoctorFacts, OutputsDocument } from './doctor-facts';
import { probeOutputsBucket, readDeadLetterDepth, readStackStatuses, readTargetHealth } from './gather-aws';
import { readEdgeFacts } from './gather-edge';
import { KubectlOptions, readClusterFacts, readKubeAccess } from './gather-kube';

export interface GatherOptions extends AwsOptions, KubectlOptions {
  /** ComfyUI base URL; default: CloudFrontEntry.CloudFrontUrl from the outputs file. */
  readonly url?: string;
  readonly token?: string;
  /** Milliseconds of sync history to read. */
  readonly since: number;
}

function readOutputsDocument(file: string): SourceAnswer<OutputsDocument> {
  if (!existsSync(file)) return { error: `${file} not found (pass --outputs, or deploy with --outputs-file ${file})` };
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { error: `${file} is not a JSON object of stacks` };
    return { ok: parsed as OutputsDocument };
  } catch (error) {
    return { error: `${file} is not JSON (${(error as Error).message})` };
  }
}

const US_EAST_1 = 'us-east-1';

/** A source that cannot be asked because the outputs file lacks what names it. */
const lacking = (file: string, stack: string, key: string) => Promise.resolve({ error: `${file} has no ${stack}.${key}` });

/** Asks the cluster, AWS and the edge everything the checks judge, all at once; every failure becomes a fact. */
export async function gatherFacts(options: GatherOptions, now = new Date()): Promise<DoctorFacts> {
  const outputs = readOutputsDocument(options.outputs);
  const output = (stack: string, key: string): string | undefined => {
    const value = valueOf(outputs)?.[stack]?.[key];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const { region, endpoint, forcePathStyle } = awsClientConfig(options);
  const aws = { region, endpoint };
  const since = new Date(now.getTime() - options.since);
  const targetGroupArn = output(STACK_NAMES.cluster, OUTPUT_KEYS.targetGroupArn);
  const bucket = output(STACK_NAMES.outputsStorage, OUTPUT_KEYS.outputsBucketName);
  const queueUrl = output(STACK_NAMES.modelsSync, OUTPUT_KEYS.modelSyncQueueUrl);
  const cluster = output(STACK_NAMES.cluster, OUTPUT_KEYS.clusterName);
  const logGroup = output(STACK_NAMES.modelsSync, OUTPUT_KEYS.modelSyncLogGroupName) ?? (cluster ? modelSyncLogGroupName(cluster) : undefined);
  const url = options.url ?? output(STACK_NAMES.cloudFrontEntry, OUTPUT_KEYS.cloudFrontUrl);
  const file = options.outputs;
  const jobsQueueUrl = output(STACK_NAMES.jobs, OUTPUT_KEYS.jobsQueueUrl);
  // CloudFront takes web ACLs, and keeps its metrics (so its alarm), in us-east-1 only.
  const edgeRegion = { region: US_EAST_1, endpoint };

  const [stacks, kubeAccess, clusterFacts, ssm, logs, targetHealth, edge, outputsWrite, deadLetters, jobsDeadLetters, edgeStacks] = await Promise.all([
    readStackStatuses(new CloudFormationClient(aws), Object.values(STACK_NAMES)),
    readKubeAccess(options),
    readClusterFacts(options),
    readSsmInvocations(new SSMClient(aws), since),
    logGroup ? readLogReports(new CloudWatchLogsClient(aws), logGroup, since) : lacking(file, STACK_NAMES.modelsSync, OUTPUT_KEYS.modelSyncLogGroupName),
    targetGroupArn ? readTargetHealth(new ElasticLoadBalancingV2Client(aws), targetGroupArn) : lacking(file, STACK_NAMES.cluster, OUTPUT_KEYS.targetGroupArn),
    url ? readEdgeFacts(url, options.token).then((ok) => ({ ok })) : lacking(file, STACK_NAMES.cloudFrontEntry, OUTPUT_KEYS.cloudFrontUrl),
    bucket ? probeOutputsBucket(new S3Client({ ...aws, forcePathStyle }), bucket) : lacking(file, STACK_NAMES.outputsStorage, OUTPUT_KEYS.outputsBucketName),
    queueUrl ? readDeadLetterDepth(new SQSClient(aws), queueUrl) : lacking(file, STACK_NAMES.modelsSync, OUTPUT_KEYS.modelSyncQueueUrl),
    jobsQueueUrl ? readDeadLetterDepth(new SQSClient(aws), jobsQueueUrl) : Promise.resolve(undefined),
    readStackStatuses(new CloudFormationClient(edgeRegion), [STACK_NAMES.operationsEdge, EDGE_WEB_ACL_STACK_NAME]),
  ]);
  // Either source alone is enough for a node's state (models status does the same); both failing is the fact.
  const ssmList = valueOf(ssm);
  const logList = valueOf(logs);
  const syncErrors = [ssm, logs].flatMap((a) => ('error' in a ? [a.error] : []));
  const syncStatuses = ssmList || logList ? { ok: nodeStatuses(ssmList ?? [], logList ?? [], now) } : { error: syncErrors.join('; ') };
  return {
    now, outputsFile: file, outputs, stacks, kubeAccess, cluster: clusterFacts, syncStatuses, syncSince: since,
    syncSourceUnread: ssmList || logList ? syncErrors[0] : undefined,
    targetHealth, edge, outputsWrite, deadLetters, jobsDeadLetters, edgeStacks,
  };
}
