import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { forwardRequest } from './forward-request';

/** An AWS JSON-protocol error the proxy answers with instead of forwarding, e.g. a throttle. */
export interface InjectedFault {
  readonly status: number;
  readonly type: string;
  readonly message: string;
}

/** An answer the proxy sends itself: the status and the JSON body. */
export interface ProxyReply {
  readonly status: number;
  readonly body: unknown;
}

/** Reads one call's JSON request and answers it, or returns undefined to let it through to the emulator. */
export type Responder = (request: any) => ProxyReply | undefined;

/**
 * A loopback HTTP proxy in front of the emulator that answers chosen calls with injected errors, so
 * the real SDK retry strategy and the handler's failure path meet real HTTP responses.
 */
export interface FaultProxy {
  readonly endpoint: string;
  /** Queues faults for the calls to `target` (the X-Amz-Target header); each matching call takes one. */
  inject(target: string, ...faults: InjectedFault[]): void;
  /** Faults queued but not yet served. */
  pending(target: string): number;
  /** Drops the faults still queued for `target`. */
  clear(target: string): void;
  /** Lets `responder` see every call to `target` that no queued fault answers (an API the emulator lacks). */
  respond(target: string, responder: Responder): void;
  close(): Promise<void>;
}

export const THROTTLED: InjectedFault = { status: 400, type: 'ThrottlingException', message: 'Rate exceeded' };
export const ACCESS_DENIED: InjectedFault = { status: 400, type: 'AccessDeniedException', message: 'not authorized' };

/** The reply an AWS JSON-protocol API sends for an error. */
export function errorReply({ status, type, message }: InjectedFault): ProxyReply {
  return { status, body: { __type: type, message } };
}

function send(res: http.ServerResponse, reply: ProxyReply): void {
  res.writeHead(reply.status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'fault-proxy' });
  res.end(JSON.stringify(reply.body));
}

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const queues = new Map<string, InjectedFault[]>();
  const responders = new Map<string, Responder>();
  const target = new URL(upstream);
  const server = http.createServer((req, res) => {
    const call = String(req.headers['x-amz-target'] ?? '');
    const fault = queues.get(call)?.shift();
    if (fault) {
      req.resume();
      send(res, errorReply(fault));
      return;
    }
    const responder = responders.get(call);
    if (!responder) {
      forwardRequest(req, res, target);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const reply = responder(JSON.parse(body.toString('utf8') || '{}'));
      if (reply) send(res, reply);
      else forwardRequest(req, res, target, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    inject: (t, ...faults) => queues.set(t, [...(queues.get(t) ?? []), ...faults]),
    pending: (t) => queues.get(t)?.length ?? 0,
    clear: (t) => queues.delete(t),
    respond: (t, responder) => responders.set(t, responder),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
