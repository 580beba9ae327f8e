import { OUTPUT_KEYS, STACK_NAMES } from '../../../names';
import { CheckVerdict, failed, passed, warned } from '../check-verdict';
import { DoctorFacts } from '../doctor-facts';

/** The outputs bucket takes a write (put and delete of a small object under doctor/), or at least exists. */
export function checkOutputsWritable(facts: DoctorFacts): CheckVerdict {
  const NAME = 'outputs-bucket';
  const answer = facts.outputsWrite;
  if ('error' in answer) {
    return failed(NAME, answer.error, `check that ${STACK_NAMES.outputsStorage} is deployed and ${facts.outputsFile} has its ${OUTPUT_KEYS.outputsBucketName}`);
  }
  const { bucket, mode, writeRefused } = answer.ok;
  if (mode === 'head-bucket') {
    return warned(NAME, `s3://${bucket} exists (HeadBucket); your role may not write to it (${writeRefused}), so only the pods' own writes can prove it`,
      'run doctor with a role that may s3:PutObject and s3:DeleteObject on doctor/*, or check an output appears after comfyctl invoke');
  }
  return passed(NAME, `s3://${bucket} took a put and a delete under doctor/`);
}

/** The model-sync dead-letter queue is empty: every bucket change reached the nodes. */
export function checkSyncDeadLetters(facts: DoctorFacts): CheckVerdict {
  const NAME = 'sync-dlq';
  const answer = facts.deadLetters;
  if ('error' in answer) return failed(NAME, answer.error, `check AWS credentials (sqs:GetQueueAttributes) and that ${STACK_NAMES.modelsSync} is deployed`);
  const { queueUrl, messages } = answer.ok;
  if (messages > 0) {
    return failed(NAME, `${messages} bucket change${messages === 1 ? '' : 's'} in ${queueUrl}: the sync Lambda failed on them 5 times`,
      "read the sync Lambda's log group for the error, fix it, then move them back: aws sqs start-message-move-task --source-arn <the DLQ's ARN>");
  }
  return passed(NAME, `dead-letter queue empty (${queueUrl})`);
}

/** No sync command (SSM fan-out or boot sync) failed in the looked-at window, on any node, present or gone. */
export function checkRecentSyncFailures(facts: DoctorFacts): CheckVerdict {
  const NAME = 'sync-failures';
  const window = `since ${facts.syncSince.toISOString()}`;
  if ('error' in facts.syncStatuses) return warned(NAME, `not read: ${facts.syncStatuses.error}`, 'comfyctl models status');
  const statuses = facts.syncStatuses.ok;
  const failures = statuses.filter((s) => s.result === 'Failed');
  if (failures.length > 0) {
    const list = failures.map((s) => `${s.instanceId} ${s.ssmStatus ?? s.result} (${s.commandId})${s.summary ? `: ${s.summary}` : ''}`);
    return failed(NAME, `${failures.length} of ${statuses.length} nodes' newest sync failed ${window}: ${list.join('; ')}`,
      'comfyctl models status; for SSM: aws ssm get-command-invocation --command-id <id> --instance-id <node>');
  }
  return passed(NAME, `${statuses.length} node${statuses.length === 1 ? '' : 's'} reported ${window}, none failed`);
}
