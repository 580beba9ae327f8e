import { STACK_NAMES } from '../../../names';
import { CheckVerdict, failed, passed } from '../check-verdict';
import { DoctorFacts } from '../doctor-facts';

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
