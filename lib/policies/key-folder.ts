/**
 * The S3 resource ARN of every object under one key folder (`<bucket ARN>/<prefix>*`). Refuses a prefix that is not
 * a folder (`jobs/`), since `jobs*` would also match `jobs-archive/...` and a leading '/' or a '*' matches
 * something else than meant.
 */
export function objectsUnder(bucketArn: string, prefix: string): string {
  if (!/^[^/*][^*]*\/$/.test(prefix)) {
    throw new Error(`key prefix must be a folder such as 'jobs/', got '${prefix}'`);
  }
  return `${bucketArn}/${prefix}*`;
}
