import * as http from 'node:http';

/** Forwards one request to `target` (an http://host:port URL) and streams the answer back: the core of the test proxies. */
export function forwardRequest(req: http.IncomingMessage, res: http.ServerResponse, target: URL): void {
  const out = http.request(
    { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
    (upstreamRes) => {
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
      upstreamRes.pipe(res);
    },
  );
  out.on('error', (e) => res.destroy(e));
  req.pipe(out);
}
