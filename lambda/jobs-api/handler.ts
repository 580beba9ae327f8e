import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { handleJobsApiEvent } from './api';
import { createJobsApiDeps, JobsApiDeps } from './deps';

// Created on the first request of each execution environment, then reused (no I/O on import).
let deps: JobsApiDeps | undefined;

/** Lambda function URL request (payload format 2.0, from CloudFront) -> jobs API answer (docs/jobs.md). */
export const handler = (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> =>
  handleJobsApiEvent(event, deps ??= createJobsApiDeps(process.env));
