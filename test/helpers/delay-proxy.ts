import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { forwardRequest } from './forward-request';

/**
 * A loopback proxy that holds chosen requests for a while before forwarding them, to make a fast emulator slow,
 * and lists every request it forwarded (moto's own recorder garbles concurrent multipart bodies).
 */
export interface DelayProxy {
  readonly endpoint: string;
  /** Method and path of every request, in arrival order. */
  readonly requests: { method: string; url: string }[];
  close(): Promise<void>;
}

export async function startDelayProxy(
  upstream: string,
  delayMs: number,
  delays: (req: http.IncomingMessage) => boolean,
): Promise<DelayProxy> {
  const target = new URL(upstream);
  const requests: { method: string; url: string }[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '' });
    const forward = () => forwardRequest(req, res, target);
    if (delays(req)) setTimeout(forward, delayMs);
    else forward();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
