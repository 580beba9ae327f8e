import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { readEdgeFacts } from '../../lib/cli/doctor/gather-edge';

/**
 * A loopback server that resets the connection of its first `resets` HTTP requests (TCP RST before any answer, as
 * when a pooled keep-alive socket the server closed is reused), then answers `status`; WebSocket upgrades get 426.
 */
async function startResettingServer(resets: number, status: number): Promise<{ url: string; close: () => Promise<void> }> {
  let left = resets;
  const server = http.createServer((req, res) => {
    if (left > 0) {
      left -= 1;
      req.socket.resetAndDestroy();
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
  });
  server.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

const servers: { close: () => Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('the edge probes', () => {
  test('one connection reset before any answer is retried: the request check sees the real status', async () => {
    const server = await startResettingServer(1, 200);
    servers.push(server);
    const facts = await readEdgeFacts(server.url, 'alice.token');
    expect(facts.request).toEqual({ ok: { status: 200 } });
    expect(facts.webSocket).toEqual({ ok: { opened: false, status: 426 } });
  });

  test('a second reset is reported as unreachable, with its cause', async () => {
    const server = await startResettingServer(3, 200);
    servers.push(server);
    const facts = await readEdgeFacts(server.url, undefined);
    expect(facts.request).toEqual({ error: 'unreachable: ECONNRESET' });
    expect(facts.tokenGiven).toBe(false);
  });
});
