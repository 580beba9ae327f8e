import * as http from 'node:http';
import * as net from 'node:net';
import { forwardRequest } from './forward-request';

/** A loopback stand-in for the edge in front of ComfyUI: checks a bearer token and can break WebSockets. */
export interface EdgeProxy {
  readonly url: string;
  /** Authorization headers seen on HTTP requests and on WebSocket upgrades. */
  readonly seen: { http: (string | undefined)[]; upgrade: (string | undefined)[] };
  close(): Promise<void>;
}

export interface EdgeProxyOptions {
  /** Token required as `Authorization: Bearer <token>`; none: everything passes. */
  readonly token?: string;
  /** Cut every WebSocket this long after it opened (the client must fall back to polling). */
  readonly dropWebSocketAfterMs?: number;
  /** Refuse WebSocket upgrades outright with this status. */
  readonly refuseWebSocket?: number;
  /** Answer every HTTP request with this status instead of forwarding (e.g. 403 from a WAF rule). */
  readonly answerEverything?: number;
}

/** Forwards HTTP and WebSocket traffic to `upstream` (http://127.0.0.1:port), as CloudFront would. */
export async function startEdgeProxy(upstream: string, options: EdgeProxyOptions = {}): Promise<EdgeProxy> {
  const target = new URL(upstream);
  const seen = { http: [] as (string | undefined)[], upgrade: [] as (string | undefined)[] };
  const allowed = (auth: string | undefined) => !options.token || auth === `Bearer ${options.token}`;
  const sockets = new Set<net.Socket>();

  const server = http.createServer((req, res) => {
    seen.http.push(req.headers.authorization);
    if (options.answerEverything) {
      req.resume();
      res.writeHead(options.answerEverything, { 'content-type': 'text/plain' });
      res.end('Refused by the edge');
      return;
    }
    if (!allowed(req.headers.authorization)) {
      req.resume();
      res.writeHead(401, { 'www-authenticate': 'Basic realm="ComfyUI"', 'content-type': 'text/plain' });
      res.end('Unauthorized');
      return;
    }
    forwardRequest(req, res, target);
  });

  server.on('upgrade', (req, client: net.Socket, head) => {
    seen.upgrade.push(req.headers.authorization);
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    const refuse = !allowed(req.headers.authorization) ? 401 : options.refuseWebSocket;
    if (refuse) {
      client.end(`HTTP/1.1 ${refuse} Refused\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      return;
    }
    const upstreamSocket = net.connect(Number(target.port), target.hostname, () => {
      const headers = Object.entries(req.headers).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`).join('\r\n');
      upstreamSocket.write(`${req.method} ${req.url} HTTP/1.1\r\n${headers}\r\n\r\n`);
      upstreamSocket.write(head);
      upstreamSocket.pipe(client).pipe(upstreamSocket);
    });
    sockets.add(upstreamSocket);
    upstreamSocket.on('close', () => sockets.delete(upstreamSocket));
    const drop = () => { client.destroy(); upstreamSocket.destroy(); };
    upstreamSocket.on('error', drop);
    client.on('error', drop);
    if (options.dropWebSocketAfterMs !== undefined) setTimeout(drop, options.dropWebSocketAfterMs).unref();
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
