import { createHash } from 'node:crypto';

/**
 * CloudFront signs requests to a Lambda function URL origin with SigV4 but does not hash the body for it, and
 * Lambda refuses an unsigned payload; so every POST and PUT must carry the body's hash itself
 * (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-lambda.html).
 */
export const CONTENT_SHA256_HEADER = 'x-amz-content-sha256';

/** Hex SHA-256 of the exact bytes fetch() sends for `body` (a string goes out as UTF-8). */
export function contentSha256(body: string): string {
  return createHash('sha256').update(Buffer.from(body, 'utf8')).digest('hex');
}
