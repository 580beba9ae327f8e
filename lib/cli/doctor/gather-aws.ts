import { randomUUID } from 'node:crypto';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DeleteObjectCommand, HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { explainAwsError, SourceAnswer } from '../models/sync-report-sources';
import { OutputsWriteFact, TargetHealthFact } from './doctor-facts';

/** Where doctor's probe object goes: outside the pods' OUTPUTS_KEY_PREFIX, so no pod or user ever lists it. */
export const DOCTOR_KEY_PREFIX = 'doctor/';

/** CloudFormation StackStatus of each stack that exists; a stack that does not is left out. */
export async function readStackStatuses(cfn: CloudFormationClient, names: readonly string[]): Promise<SourceAnswer<Record<string, string>>> {
  try {
    const found = await Promise.all(names.map(async (name) => {
      try {
        const answer = await cfn.send(new DescribeStacksCommand({ StackName: name }));
        return [name, answer.Stacks?.[0]?.StackStatus as string | undefined] as const;
      } catch (error) {
        // DescribeStacks answers a ValidationError "Stack with id X does not exist" for an absent stack.
        if ((error as Error).name === 'ValidationError' && /does not exist/.test((error as Error).message)) return [name, undefined as string | undefined] as const;
        throw error;
      }
    }));
    return { ok: Object.fromEntries(found.filter((f): f is readonly [string, string] => f[1] !== undefined)) };
  } catch (error) {
    return { error: explainAwsError(error, 'CloudFormation DescribeStacks', 'cloudformation:DescribeStacks') };
  }
}

/** Every target of the group with its state (ELBv2 DescribeTargetHealth). */
export async function readTargetHealth(elb: ElasticLoadBalancingV2Client, targetGroupArn: string): Promise<SourceAnswer<TargetHealthFact[]>> {
  try {
    const answer = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }));
    return {
      ok: (answer.TargetHealthDescriptions ?? []).map((d) => ({
        id: d.Target?.Id ?? '?',
        port: d.Target?.Port,
        state: d.TargetHealth?.State ?? 'unknown',
        reason: d.TargetHealth?.Reason,
        description: d.TargetHealth?.Description,
      })),
    };
  } catch (error) {
    return { error: explainAwsError(error, `target group ${targetGroupArn}`, 'elasticloadbalancing:DescribeTargetHealth') };
  }
}

const isAccessDenied = (error: unknown) =>
  (error as Error).name === 'AccessDenied' || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 403;

/**
 * Writes and deletes one small object under doctor/; when the caller may not write, falls back to HeadBucket
 * and says so (the fact's mode), so an operator with a read-only role still learns the bucket is there.
 */
export async function probeOutputsBucket(s3: S3Client, bucket: string): Promise<SourceAnswer<OutputsWriteFact>> {
  const key = `${DOCTOR_KEY_PREFIX}probe-${randomUUID()}`;
  try {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'comfyctl doctor write probe\n', ContentType: 'text/plain' }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    return { ok: { bucket, mode: 'put-delete' } };
  } catch (error) {
    if (!isAccessDenied(error)) return { error: explainAwsError(error, `s3://${bucket}/${key}`, 's3:PutObject and s3:DeleteObject') };
    try {
      await s3.send(new HeadBucketCommand({ Bucket: bucket }));
      return { ok: { bucket, mode: 'head-bucket', writeRefused: `${(error as Error).name}` } };
    } catch (headError) {
      return { error: explainAwsError(headError, `s3://${bucket}`, 's3:ListBucket (HeadBucket)') };
    }
  }
}

/** The dead-letter queue named by the queue's redrive policy, and how many messages wait in it. */
export async function readDeadLetterDepth(sqs: SQSClient, queueUrl: string): Promise<SourceAnswer<{ queueUrl: string; messages: number }>> {
  try {
    const source = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['RedrivePolicy'] }));
    const policy = source.Attributes?.RedrivePolicy;
    if (!policy) return { error: `${queueUrl} has no redrive policy, so no dead-letter queue to read` };
    // arn:aws:sqs:<region>:<account>:<name>
    const [, , , , account, name] = (JSON.parse(policy) as { deadLetterTargetArn: string }).deadLetterTargetArn.split(':');
    const { QueueUrl: dlqUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: name, QueueOwnerAWSAccountId: account }));
    const depth = await sqs.send(new GetQueueAttributesCommand({
      QueueUrl: dlqUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }));
    const count = (attribute: string) => Number(depth.Attributes?.[attribute as 'ApproximateNumberOfMessages'] ?? 0);
    return { ok: { queueUrl: dlqUrl!, messages: count('ApproximateNumberOfMessages') + count('ApproximateNumberOfMessagesNotVisible') } };
  } catch (error) {
    return { error: explainAwsError(error, `dead-letter queue of ${queueUrl}`, 'sqs:GetQueueAttributes and sqs:GetQueueUrl') };
  }
}
