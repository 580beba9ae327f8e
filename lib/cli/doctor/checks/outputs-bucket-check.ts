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
