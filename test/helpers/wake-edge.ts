import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { WAKE_ORIGIN_IDS } from '../../lib/constructs/edge-distribution';
import type { KvsState } from '../lib/edge-vectors';
import { forwardRequest } from './forward-request';
import { loadViewerAuth } from './viewer-auth-vm';

/**
 * A loopback stand-in for CloudFront with autoscaling on: every request runs the real viewer-request function
 * (lib/edge/viewer-auth.js as deployed, under node:vm) and goes where it says. An answer of the function (401, 307,
 * 403, 400) is returned as is; a forwarded request goes to the ALB stand-in, and when the function asked for an
 * origin group and the ALB answers one of its failover codes, or cannot be reached, the same request goes to the
 * wake handler as a function URL event (payload 2.0), as CloudFront would send it through the origin access control.
 * Not emulated: WebSocket upgrades (refused; comfyctl falls back to polling), caching, CloudFront's own headers.
 */
export interface WakeEdge {
  readonly url: string;
  /** Where each request ended: `edge` (the function answered), `alb` or `wake`, with the status returned. */
  readonly served: { method: string; path: string; origin: 'edge' | 'alb' | 'wake'; status: number }[];
  close(): Promise<void>;
}

export interface WakeEdgeOptions {
  /** The ALB stand-in (startAlbStandIn), e.g. http://127.0.0.1:port. */
  readonly alb: string;
  /** The wake function's handler over its deps (lambda/wake/wake.ts handleWakeEvent, bound). */
  readonly wake: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
  /** The users store the function reads. */
  readonly store: KvsState;
}

interface OriginGroup {
  originIds: string[];
  failoverCriteria: { statusCodes: number[] };
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'content-encoding', 'upgrade']);

export async function startWakeEdge(options: WakeEdgeOptions): Promise<WakeEdge> {
  const served: WakeEdge['served'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, Buffer.concat(chunks), res).catch((error) => {
        res.writeHead(502, { 'content-type': 'text/plain' }).end(`edge stand-in: ${(error as Error).message}`);
      });
    });
  });

  async function handle(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://edge');
    const groups: OriginGroup[] = [];
    const handler = loadViewerAuth(options.store, { wake: true, onOriginGroup: (g) => groups.push(g as OriginGroup) });
    const result = await handler(viewerEvent(req, url));
    const record = (origin: 'edge' | 'alb' | 'wake', status: number) => served.push({ method: req.method!, path: url.pathname, origin, status });
    if (result.statusCode !== undefined) {
      record('edge', result.statusCode);
      return answerFromFunction(res, result);
    }
    const request = result as ForwardedRequest;
    const headers = originHeaders(request);
    const target = new URL(`${request.uri}${queryOf(request)}`, options.alb);
    const group = groups[0];
    if (group && group.originIds[0] !== WAKE_ORIGIN_IDS[0]) throw new Error(`unknown primary origin ${group.originIds[0]}`);
    let primary: Response | undefined;
    try {
      primary = await fetch(target, {
        method: request.method, headers, body: ['GET', 'HEAD'].includes(request.method) ? undefined : body, redirect: 'manual',
      });
    } catch (error) {
      if (!group) throw error;
    }
    const failover = group && (!primary || group.failoverCriteria.statusCodes.includes(primary.status));
    if (!failover) {
      record('alb', primary!.status);
      const out: Record<string, string> = {};
      primary!.headers.forEach((value, name) => { if (!HOP_BY_HOP.has(name)) out[name] = value; });
      res.writeHead(primary!.status, out).end(Buffer.from(await primary!.arrayBuffer()));
      return;
    }
    await primary?.arrayBuffer();
    const answer = await options.wake(functionUrlEvent(request, headers));
    record('wake', answer.statusCode ?? 200);
    res.writeHead(answer.statusCode ?? 200, answer.headers as Record<string, string>).end(answer.body ?? '');
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    served,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** An ALB stand-in: while `down` it answers 503 as an ALB with no registered targets does; else it forwards. */
export interface AlbStandIn {
  readonly url: string;
  down: boolean;
  close(): Promise<void>;
}

/** `upstream`: the "pod" (the simulator); `index` answers GET / (the simulator serves no web UI). */
export async function startAlbStandIn(upstream: string, index: string): Promise<AlbStandIn> {
  const target = new URL(upstream);
  const alb = { down: true } as AlbStandIn & { down: boolean };
  const server = http.createServer((req, res) => {
    if (alb.down) {
      req.resume();
      res.writeHead(503, { 'content-type': 'text/html' }).end('<html><body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>');
      return;
    }
    if (req.method === 'GET' && req.url === '/') {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/html' }).end(index);
      return;
    }
    forwardRequest(req, res, target);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(alb, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  });
}

interface ForwardedRequest {
  method: string;
  uri: string;
  querystring: Record<string, { value: string }>;
  headers: Record<string, { value: string }>;
  cookies: Record<string, { value: string }>;
}

function viewerEvent(req: http.IncomingMessage, url: URL) {
  const headers: Record<string, { value: string }> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name !== 'cookie' && value !== undefined) headers[name] = { value: Array.isArray(value) ? value.join(', ') : value };
  }
  const cookies: Record<string, { value: string }> = {};
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) cookies[part.slice(0, eq).trim()] = { value: part.slice(eq + 1).trim() };
  }
  const querystring: Record<string, { value: string }> = {};
  url.searchParams.forEach((value, name) => { querystring[name] = { value }; });
  return {
    version: '1.0',
    context: { eventType: 'viewer-request' },
    viewer: { ip: '127.0.0.1' },
    request: { method: req.method, uri: url.pathname, querystring, headers, cookies },
  };
}

/** The forwarded request's headers as the origin gets them: every viewer header but Host (AllViewerExceptHostHeader). */
function originHeaders(request: ForwardedRequest): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, field] of Object.entries(request.headers)) {
    if (name !== 'host' && !HOP_BY_HOP.has(name)) headers[name] = field.value;
  }
  const cookie = Object.entries(request.cookies).map(([name, field]) => `${name}=${field.value}`).join('; ');
  if (cookie) headers.cookie = cookie;
  return headers;
}

function queryOf(request: ForwardedRequest): string {
  const query = new URLSearchParams(Object.entries(request.querystring).map(([name, field]): [string, string] => [name, field.value])).toString();
  return query ? `?${query}` : '';
}

function functionUrlEvent(request: ForwardedRequest, headers: Record<string, string>): APIGatewayProxyEventV2 {
  return {
    version: '2.0', routeKey: '$default', rawPath: request.uri, rawQueryString: queryOf(request).slice(1), headers,
    requestContext: { http: { method: request.method, path: request.uri } } as APIGatewayProxyEventV2['requestContext'],
    isBase64Encoded: false,
  };
}

function answerFromFunction(res: http.ServerResponse, result: any): void {
  const headers: Record<string, string | string[]> = {};
  for (const [name, field] of Object.entries(result.headers ?? {}) as [string, { value: string }][]) headers[name] = field.value;
  const cookies = Object.entries(result.cookies ?? {}) as [string, { value: string; attributes?: string }][];
  if (cookies.length > 0) headers['set-cookie'] = cookies.map(([name, c]) => `${name}=${c.value}${c.attributes ? `; ${c.attributes}` : ''}`);
  const body = typeof result.body === 'string' ? result.body : result.body?.data ?? '';
  res.writeHead(result.statusCode, result.statusDescription, headers).end(body);
}
