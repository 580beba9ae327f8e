import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/** The viewer-request function, deployed byte for byte as this file holds it (and run as is by its tests). */
export const VIEWER_AUTH_SOURCE_FILE = path.join(__dirname, 'viewer-auth.js');

/**
 * CloudFront Functions' code size limit, comments included
 * (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html#limits-functions).
 */
export const MAX_FUNCTION_CODE_BYTES = 10 * 1024;

/** Reads the viewer-request function; refuses at synth a file CloudFront would refuse at deploy. */
export function readViewerAuthSource(file: string = VIEWER_AUTH_SOURCE_FILE): string {
  const source = readFileSync(file, 'utf8');
  const size = Buffer.byteLength(source, 'utf8');
  if (size > MAX_FUNCTION_CODE_BYTES) {
    throw new Error(`${file} is ${size} bytes; a CloudFront Function may hold ${MAX_FUNCTION_CODE_BYTES}, comments included`);
  }
  return source;
}
