import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * The viewer-request function, deployed as this file holds it (and run as is by its tests) but for one line: the
 * wake origins, WAKE_LINE, which readViewerAuthSource fills in when autoscaling is on.
 */
export const VIEWER_AUTH_SOURCE_FILE = path.join(__dirname, 'viewer-auth.js');

/**
 * CloudFront Functions' code size limit, comments included
 * (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html#limits-functions).
 */
export const MAX_FUNCTION_CODE_BYTES = 10 * 1024;

/** The file's line for the wake origins: none (autoscaling off, or tests of the function without it). */
export const WAKE_LINE = 'const WAKE = null;';

export interface ViewerAuthSourceOptions {
  /**
   * The origin ids of the ALB and of the wake page, in that order: the function makes GET/HEAD requests an origin
   * group of the two (docs/scaling-design.md section 4). @default none: every request goes to the behaviour's origin
   */
  readonly wakeOriginIds?: readonly [string, string];
  /** @default VIEWER_AUTH_SOURCE_FILE */
  readonly file?: string;
}

const ORIGIN_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** Reads the viewer-request function; refuses at synth a file CloudFront would refuse at deploy. */
export function readViewerAuthSource(options: ViewerAuthSourceOptions = {}): string {
  const file = options.file ?? VIEWER_AUTH_SOURCE_FILE;
  const original = readFileSync(file, 'utf8');
  const lines = original.split('\n').filter((line) => line === WAKE_LINE).length;
  if (lines !== 1) throw new Error(`${file} must hold the line '${WAKE_LINE}' exactly once (it holds it ${lines} times)`);
  let source = original;
  if (options.wakeOriginIds) {
    const bad = options.wakeOriginIds.find((id) => !ORIGIN_ID.test(id));
    if (bad !== undefined) throw new Error(`wake origin ids must be 1-128 letters, digits, '-' or '_', got '${bad}'`);
    source = original.replace(WAKE_LINE, `const WAKE = ${JSON.stringify(options.wakeOriginIds)};`);
  }
  const size = Buffer.byteLength(source, 'utf8');
  if (size > MAX_FUNCTION_CODE_BYTES) {
    throw new Error(`${file} is ${size} bytes as deployed; a CloudFront Function may hold ${MAX_FUNCTION_CODE_BYTES}, comments included`);
  }
  return source;
}
