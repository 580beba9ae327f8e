import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { AddressInfo } from 'node:net';

/**
 * A stand-in for the EKS Pod Identity agent on loopback. On EKS the Pod Identity webhook gives the pod
 * AWS_CONTAINER_CREDENTIALS_FULL_URI (http://169.254.170.23/v1/credentials) and AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE;
 * the AWS SDKs' container-credentials provider sends that token as the Authorization header and takes the JSON answer
 * (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-how-it-works.html). The SDKs accept plain http for a
 * loopback host, so `env` points a process's default credential chain here.
 */
export interface PodIdentityAgent {
  /** The variables the webhook would inject, for the process under test. */
  readonly env: Record<string, string>;
  readonly accessKeyId: string;
  /** How many credential requests carried the right token, and how many did not. */
  requests(): { authorized: number; refused: number };
  stop(): Promise<void>;
}

export async function startPodIdentityAgent(): Promise<PodIdentityAgent> {
  const token = randomBytes(16).toString('hex');
  const tokenFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'pod-identity-')), 'eks-pod-identity-token');
  writeFileSync(tokenFile, token);
  const accessKeyId = `ASIATEST${randomBytes(4).toString('hex').toUpperCase()}`;
  const counts = { authorized: 0, refused: 0 };
  const server = http.createServer((req, res) => {
    if (req.url !== '/v1/credentials' || req.headers.authorization !== token) {
      counts.refused += 1;
      res.writeHead(401).end();
      return;
    }
    counts.authorized += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
      AccessKeyId: accessKeyId,
      SecretAccessKey: 'testing',
      Token: 'testing-session-token',
      AccountId: '123456789012',
      Expiration: new Date(Date.now() + 3_600_000).toISOString(),
    }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    env: {
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://127.0.0.1:${port}/v1/credentials`,
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
    },
    accessKeyId,
    requests: () => ({ ...counts }),
    stop: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
