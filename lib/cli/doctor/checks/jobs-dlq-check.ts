import { STACK_NAMES } from '../../../names';
import { CheckVerdict, failed, passed } from '../check-verdict';
import { DoctorFacts } from '../doctor-facts';

const NAME = 'jobs-dlq';

/**
 * The jobs queue's dead-letter queue is empty. The jobs dead-letter function drains it, marking each job failed
 * (docs/jobs.md); a message that stays means that function is failing too.
 */
export function checkJobsDeadLetters(facts: DoctorFacts): CheckVerdict {
  const answer = facts.jobsDeadLetters;
  if (!answer) return passed(NAME, `jobs off (${facts.outputsFile} has no ${STACK_NAMES.jobs}.JobsQueueUrl)`);
  if ('error' in answer) return failed(NAME, answer.error, `check AWS credentials (sqs:GetQueueAttributes, sqs:GetQueueUrl) and that ${STACK_NAMES.jobs} is deployed`);
  const { queueUrl, messages } = answer.ok;
  if (messages > 0) {
    return failed(NAME, `${messages} job message${messages === 1 ? '' : 's'} in ${queueUrl}: runners gave up on them and the dead-letter function did not fail them`,
      `read the log group of ${STACK_NAMES.jobs}'s dead-letter function (the dashboard's Lambda errors widget names it); once fixed, the function drains them`);
  }
  return passed(NAME, `dead-letter queue empty (${queueUrl})`);
}
