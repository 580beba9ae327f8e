import * as http from 'node:http';

/**
 * Forwards one request to `target` (an http://host:port URL) and streams the answer back: the core of the test
 * proxies. `body` is the request body when the proxy has already read it; otherwise it is streamed from `req`.
 */
export function forwardRequest(req: http.IncomingMessage, res: http.ServerResponse, target: URL, body?: Buffer): void {
  const out = http.request(
    { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
    (upstreamRes) => {
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
      upstreamRes.pipe(res);
    },
  );
  out.on('error', (e) => res.destroy(e));
  if (body) out.end(body);
  else req.pipe(out);
}
