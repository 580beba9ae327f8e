import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { CloudFrontKeyValueStoreClient } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { UsersStore } from '../../lib/cli/users/users-store';
import { issueCredential, userKey } from '../../lib/edge/credentials';

/**
 * The real SDK client against a KeyValueStore stand-in on loopback: proves requests leave signed with SigV4A
 * (the KeyValueStore API accepts nothing else) and carry the ETag they were decided on. The SDK sends KVS calls
 * to `<account>.<endpoint host>`, so the client's agent resolves every name to the stand-in.
 */
const STORE = 'arn:aws:cloudfront::210987654321:key-value-store/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly host: string;
  readonly headers: http.IncomingHttpHeaders;
}
interface Reply {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body: unknown;
}

let server: http.Server;
let port: number;
let seen: Seen[] = [];
let reply: (request: Seen) => Reply = () => ({ status: 200, body: {} });

beforeAll(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const request: Seen = { method: req.method!, url: req.url!, host: req.headers.host!, headers: req.headers };
      seen.push(request);
      const { status, headers, body } = reply(request);
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

afterEach(() => {
  seen = [];
});

function client(): CloudFrontKeyValueStoreClient {
  const toLoopback = (_host: string, options: unknown, callback: (...args: unknown[]) => void) => {
    if ((options as { all?: boolean }).all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
    else callback(null, '127.0.0.1', 4);
  };
  return new CloudFrontKeyValueStoreClient({
    region: 'us-west-2',
    endpoint: `http://kvs.test:${port}`,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
    maxAttempts: 1,
    requestHandler: { httpAgent: new http.Agent({ lookup: toLoopback } as http.AgentOptions) },
  });
}

describe('the users store on the real SDK client', () => {
  test('signs with SigV4A for every region, as the KeyValueStore API requires', async () => {
    const alice = issueCredential('alice', new Date('2026-01-01T00:00:00Z'));
    reply = () => ({ status: 200, body: { Items: [{ Key: userKey('alice'), Value: alice.storedValue }] } });
    const users = await new UsersStore(client(), STORE).list();
    expect(users.map((u) => u.name)).toEqual(['alice']);
    expect(seen).toHaveLength(1);
    expect(seen[0].host).toBe(`210987654321.kvs.test:${port}`);
    expect(seen[0].url).toBe(`/key-value-stores/${encodeURIComponent(STORE)}/keys`);
    expect(seen[0].headers.authorization).toMatch(/^AWS4-ECDSA-P256-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/cloudfront-keyvaluestore\/aws4_request/);
    expect(seen[0].headers['x-amz-region-set']).toBe('*');
  });

  test('writes with the ETag it read as If-Match', async () => {
    reply = (request): Reply => {
      if (request.method === 'GET' && request.url.endsWith('/keys/user%3Aalice')) {
        return { status: 404, headers: { 'x-amzn-errortype': 'ResourceNotFoundException' }, body: { Message: 'Key not found' } };
      }
      if (request.method === 'GET') {
        return { status: 200, headers: { etag: 'etag-42' }, body: { ItemCount: 0, TotalSizeInBytes: 0, KvsARN: STORE, Created: 1767225600 } };
      }
      return { status: 200, headers: { etag: 'etag-43' }, body: { ItemCount: 1, TotalSizeInBytes: 120 } };
    };
    let decidedOn: string | undefined = 'not called';
    await new UsersStore(client(), STORE).change('alice', (current) => {
      decidedOn = current;
      return { put: 'v1$value' };
    });
    expect(decidedOn).toBeUndefined();
    const write = seen.find((s) => s.method === 'PUT')!;
    expect(write.url).toBe(`/key-value-stores/${encodeURIComponent(STORE)}/keys/user%3Aalice`);
    expect(write.headers['if-match']).toBe('etag-42');
  });
});
