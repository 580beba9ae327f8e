import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { IDENTITY_HEADER } from '../../lib/jobs/contract';
import { forwardRequest } from './forward-request';

/** A loopback stand-in for the edge authentication function in front of the jobs API. */
export interface UserTokenProxy {
  readonly url: string;
  /** Every request that reached the upstream: method, path, the headers as forwarded and the body's bytes. */
  readonly forwarded: { method: string; url: string; headers: http.IncomingHttpHeaders; body: Buffer }[];
  close(): Promise<void>;
}

/**
 * Does what lib/edge/viewer-auth.js does for the jobs API: a known `Authorization: Bearer <token>` becomes
 * `x-comfyui-user: <user>` (overwriting what the client sent, and dropping the token), anything else is 401.
 * `tokens` maps each token to its user.
 */
export async function startUserTokenProxy(upstream: string, tokens: Readonly<Record<string, string>>): Promise<UserTokenProxy> {
  const target = new URL(upstream);
  const forwarded: UserTokenProxy['forwarded'] = [];
  const server = http.createServer((req, res) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const user = token === undefined ? undefined : tokens[token];
    if (user === undefined) {
      req.resume();
      res.writeHead(401, { 'content-type': 'text/plain' }).end('Unauthorized');
      return;
    }
    delete req.headers.authorization;
    req.headers[IDENTITY_HEADER] = user;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      forwarded.push({ method: req.method ?? '?', url: req.url ?? '/', headers: { ...req.headers }, body });
      forwardRequest(req, res, target, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    forwarded,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
