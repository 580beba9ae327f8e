import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { JobsApiError } from '../../lib/jobs/api-error';
import { IDENTITY_HEADER } from '../../lib/jobs/contract';

/** A function URL request (payload format 2.0) reduced to what the operations read. */
export interface ApiRequest {
  readonly method: string;
  readonly path: string;
  /** Lower-case header names, as function URLs deliver them. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly body: string;
}

export interface ApiResponse {
  readonly status: number;
  readonly body?: unknown;
}

/** Function URL event -> request; the body decoded when Lambda base64-encoded it. */
export function readRequest(event: APIGatewayProxyEventV2): ApiRequest {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) headers[name.toLowerCase()] = value;
  const raw = event.body ?? '';
  return {
    method: event.requestContext.http.method.toUpperCase(),
    path: event.rawPath,
    headers,
    query: event.queryStringParameters ?? {},
    body: event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw,
  };
}

/**
 * The verified user, which only the edge authentication function sets (the function URL admits only requests
 * CloudFront signed, so the header cannot come from a client calling Lambda directly).
 */
export function callerOf(request: ApiRequest): string {
  const user = request.headers[IDENTITY_HEADER]?.trim();
  if (!user) {
    throw new JobsApiError(401, 'unauthenticated',
      `No ${IDENTITY_HEADER} header: requests must come through the CloudFront distribution, whose edge authentication sets it`);
  }
  return user;
}

export function parseJsonBody(request: ApiRequest): unknown {
  if (request.body.trim() === '') throw new JobsApiError(400, 'invalid_request', 'The request needs a JSON body', 'body');
  try {
    return JSON.parse(request.body);
  } catch (error) {
    throw new JobsApiError(400, 'invalid_request', `The body is not valid JSON: ${(error as Error).message}`, 'body');
  }
}

export function writeResponse(response: ApiResponse): APIGatewayProxyStructuredResultV2 {
  // no-store: the answers are per user and change as jobs run; CloudFront and browsers must never reuse one.
  const headers = { 'cache-control': 'no-store' };
  if (response.body === undefined) return { statusCode: response.status, headers };
  return {
    statusCode: response.status,
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(response.body),
  };
}
