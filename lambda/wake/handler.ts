import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createWakeDeps, WakeDeps } from './deps';
import { handleWakeEvent } from './wake';

// Created on the first request of each execution environment, then reused (no I/O on import).
let deps: WakeDeps | undefined;

/** Lambda function URL request (payload format 2.0, CloudFront's failover from the ALB) -> the wake page. */
export const handler = (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> =>
  handleWakeEvent(event, deps ??= createWakeDeps(process.env));
