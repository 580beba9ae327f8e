import * as http from 'node:http';
import { AddressInfo } from 'node:net';

/** What the server answers on one path. */
export type Route =
  | { readonly body: Buffer }
  /** Announces the full length, sends the first `cutAfter` bytes, then cuts the connection. */
  | { readonly body: Buffer; readonly cutAfter: number }
  | { readonly status: number }
  | { readonly redirectTo: string };

export interface ServedRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization?: string;
}

/**
 * A loopback HTTP server with fixed routes that records every request, standing in for a model host (two of
 * them on different ports make a cross-origin redirect).
 */
export interface FileServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly requests: ServedRequest[];
  route(path: string, route: Route): void;
  close(): Promise<void>;
}

export async function startFileServer(): Promise<FileServer> {
  const routes = new Map<string, Route>();
  const requests: ServedRequest[] = [];
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push({ method: req.method ?? '?', path, authorization: req.headers.authorization });
    const route = routes.get(path);
    if (!route || 'status' in route) {
      res.writeHead(route && 'status' in route ? route.status : 404).end();
      return;
    }
    if ('redirectTo' in route) {
      res.writeHead(302, { location: route.redirectTo }).end();
      return;
    }
    res.writeHead(200, { 'content-length': route.body.length, 'content-type': 'application/octet-stream' });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    if ('cutAfter' in route) {
      res.write(route.body.subarray(0, route.cutAfter), () => setTimeout(() => res.destroy(), 50));
      return;
    }
    res.end(route.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    route: (path, route) => routes.set(path, route),
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
