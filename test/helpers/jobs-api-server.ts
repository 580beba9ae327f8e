import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { handleJobsApiEvent } from '../../lambda/jobs-api/api';
import { createJobsApiDeps, JobsApiDeps } from '../../lambda/jobs-api/deps';
import { JOBS_API_PREFIX } from '../../lib/jobs/contract';
import { emulatorClientConfig } from './jobs-backend';

/**
 * The jobs API function behind a loopback HTTP server, as CloudFront and the function URL put it before clients:
 * each request becomes a function URL event (payload format 2.0) for the real handler code. The caller's user
 * comes in the x-comfyui-user header, as the edge function sets it after checking the token (the test client sets
 * it here). Like the function URL's SigV4 check behind CloudFront's origin access control, a POST or PUT whose
 * x-amz-content-sha256 is not the body's sha256 is answered 403 without reaching the handler
 * (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-lambda.html).
 */
export interface JobsApiServer {
  /** http://127.0.0.1:<port>; the API is under `${url}${JOBS_API_PREFIX}`. */
  readonly url: string;
  /** `${url}/render-api/v1`. */
  readonly apiUrl: string;
  /** The handler's dependencies, so a test can replace e.g. enqueueJob to make the queue fail. */
  readonly deps: JobsApiDeps;
  /** The function URL events the handler received, oldest first. */
  readonly events: APIGatewayProxyEventV2[];
  stop(): Promise<void>;
}

export interface JobsApiServerOptions {
  /** Replaces parts of the dependencies built from `env` (a failing queue, a fixed clock). */
  readonly override?: (deps: JobsApiDeps) => Partial<JobsApiDeps>;
}

// Hard bound on the server's life, so a crashed test run cannot leave it listening.
const MAX_LIFETIME_MS = 15 * 60_000;
const SIGNED_METHODS = new Set(['POST', 'PUT']);

function toEvent(request: http.IncomingMessage, body: Buffer): APIGatewayProxyEventV2 {
  const url = new URL(request.url ?? '/', 'http://127.0.0.1');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
  const method = (request.method ?? 'GET').toUpperCase();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    headers,
    queryStringParameters: Object.keys(query).length > 0 ? query : undefined,
    requestContext: {
      accountId: 'anonymous', apiId: 'jobs-api', domainName: url.host, domainPrefix: 'jobs-api',
      http: { method, path: url.pathname, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
      requestId: `req-${Date.now()}`, routeKey: '$default', stage: '$default', time: new Date().toISOString(), timeEpoch: Date.now(),
    },
    // Function URLs base64-encode bodies they do not recognise as text; JSON and text arrive as they are.
    ...(body.length === 0 ? { isBase64Encoded: false } : /json|text/.test(headers['content-type'] ?? '')
      ? { body: body.toString('utf8'), isBase64Encoded: false }
      : { body: body.toString('base64'), isBase64Encoded: true }),
  } as APIGatewayProxyEventV2;
}

function send(response: http.ServerResponse, result: APIGatewayProxyStructuredResultV2): void {
  const body = result.body === undefined ? Buffer.alloc(0)
    : result.isBase64Encoded ? Buffer.from(result.body, 'base64') : Buffer.from(result.body);
  response.writeHead(result.statusCode ?? 200, { ...(result.headers as Record<string, string>), 'content-length': body.length });
  response.end(body);
}

/** Starts the API for the backend whose function environment is `env` (JobsBackend.env, plus e.g. JOBS_ADMINS). */
export async function startJobsApiServer(env: Readonly<Record<string, string>>, options: JobsApiServerOptions = {}): Promise<JobsApiServer> {
  const endpoint = env.AWS_ENDPOINT_URL;
  if (endpoint === undefined) throw new Error('startJobsApiServer: env has no AWS_ENDPOINT_URL; pass JobsBackend.env');
  const built = createJobsApiDeps(env, emulatorClientConfig(endpoint));
  const deps: JobsApiDeps = { ...built, ...options.override?.(built) };
  const events: APIGatewayProxyEventV2[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const method = (request.method ?? 'GET').toUpperCase();
      const sha256 = createHash('sha256').update(body).digest('hex');
      if (SIGNED_METHODS.has(method) && request.headers['x-amz-content-sha256'] !== sha256) {
        send(response, {
          statusCode: 403,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ Message: 'Forbidden. For troubleshooting Function URL authorization issues, see: https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html' }),
        });
        return;
      }
      const event = toEvent(request, body);
      events.push(event);
      handleJobsApiEvent(event, deps).then(
        (result) => send(response, result),
        (error) => send(response, { statusCode: 502, body: String(error) }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const stop = () => new Promise<void>((resolve) => {
    clearTimeout(lifetime);
    server.closeAllConnections();
    server.close(() => resolve());
  });
  const lifetime = setTimeout(() => void stop(), MAX_LIFETIME_MS);
  lifetime.unref();
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, apiUrl: `${url}${JOBS_API_PREFIX}`, deps, events, stop };
}

/** One call as comfyctl makes it: JSON body with its x-amz-content-sha256, the user in x-comfyui-user. */
export async function callJobsApi(
  server: Pick<JobsApiServer, 'apiUrl'>, method: string, path: string,
  options: { user?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any }> {
  const body = options.body === undefined ? '' : JSON.stringify(options.body);
  const headers: Record<string, string> = { ...options.headers };
  if (options.user !== undefined) headers['x-comfyui-user'] = options.user;
  if (body !== '') headers['content-type'] = 'application/json';
  if (SIGNED_METHODS.has(method)) headers['x-amz-content-sha256'] ??= createHash('sha256').update(body).digest('hex');
  const response = await fetch(`${server.apiUrl}${path}`, { method, headers, body: body === '' ? undefined : body });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}
