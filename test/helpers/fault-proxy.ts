import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { forwardRequest } from './forward-request';

/** An AWS JSON-protocol error the proxy answers with instead of forwarding, e.g. a throttle. */
export interface InjectedFault {
  readonly status: number;
  readonly type: string;
  readonly message: string;
}

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
  close(): Promise<void>;
}

export const THROTTLED: InjectedFault = { status: 400, type: 'ThrottlingException', message: 'Rate exceeded' };
export const ACCESS_DENIED: InjectedFault = { status: 400, type: 'AccessDeniedException', message: 'not authorized' };

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const queues = new Map<string, InjectedFault[]>();
  const target = new URL(upstream);
  const server = http.createServer((req, res) => {
    const fault = queues.get(String(req.headers['x-amz-target'] ?? ''))?.shift();
    if (fault) {
      req.resume();
      res.writeHead(fault.status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'fault' });
      res.end(JSON.stringify({ __type: fault.type, message: fault.message }));
      return;
    }
    forwardRequest(req, res, target);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    inject: (t, ...faults) => queues.set(t, [...(queues.get(t) ?? []), ...faults]),
    pending: (t) => queues.get(t)?.length ?? 0,
    clear: (t) => queues.delete(t),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
