import { ChildProcess, spawn, spawnSync, SpawnSyncReturns } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KUBERNETES_SERVICE_CIDR } from '../../lib/names';
import { freeLoopbackPort, waitUntilUp } from './loopback-server';

/**
 * A real Kubernetes control plane on loopback: etcd, kube-apiserver and kube-controller-manager built by
 * scripts/kube-control-plane.sh (pinned in tools/kube-control-plane.txt). The API server runs every admission
 * plugin it enables by default (Pod Security Admission, ServiceAccount, Priority, ...), RBAC, CRD schemas and
 * CEL rules; the controller manager creates the `default` service accounts pod admission needs and the pods of
 * Deployments and DaemonSets. No scheduler and no kubelet: pods are admitted, then stay Pending.
 */
export interface KubeControlPlane {
  readonly kubeconfig: string;
  /** Runs kubectl against this control plane; never throws, read `status`, `stdout` and `stderr`. */
  kubectl(args: string[], input?: string): SpawnSyncReturns<string>;
  stop(): Promise<void>;
}

/** Hard upper bound on each server's life, so a crashed test run can never leave one behind. */
const MAX_LIFETIME_SECONDS = 900;
const ADMIN_TOKEN = 'comfyui-test-admin-token';

/** The folder of the four binaries: $KUBE_CONTROL_PLANE_BIN, which `npm test` sets after building them. */
export function kubeControlPlaneBin(): string {
  const bin = process.env.KUBE_CONTROL_PLANE_BIN;
  const missing = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kubectl'].filter((b) => !bin || !existsSync(path.join(bin, b)));
  if (!bin || missing.length > 0) {
    throw new Error(
      `the real control plane is missing (${missing.join(', ')}): run \`npm test\`, or ` +
        'export KUBE_CONTROL_PLANE_BIN="$(bash scripts/kube-control-plane.sh)" (a cold build takes 15-20 min) and rerun',
    );
  }
  return bin;
}

export async function startKubeControlPlane(): Promise<KubeControlPlane> {
  const bin = kubeControlPlaneBin();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kube-control-plane-'));
  const [etcdClient, etcdPeer, apiPort] = [await freeLoopbackPort(), await freeLoopbackPort(), await freeLoopbackPort()];
  const children: { name: string; child: ChildProcess; log: () => string }[] = [];
  const run = (name: string, args: string[]) => {
    const child = spawn('timeout', [String(MAX_LIFETIME_SECONDS), path.join(bin, name), ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    child.stderr?.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-8000); });
    children.push({ name, child, log: () => log });
    return child;
  };
  const stop = async () => {
    await Promise.all(children.reverse().map(({ child }) => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    })));
  };

  try {
    const etcd = run('etcd', [
      '--name', 'default', '--data-dir', path.join(dir, 'etcd'), '--unsafe-no-fsync',
      '--listen-client-urls', `http://127.0.0.1:${etcdClient}`, '--advertise-client-urls', `http://127.0.0.1:${etcdClient}`,
      '--listen-peer-urls', `http://127.0.0.1:${etcdPeer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${etcdPeer}`,
      '--initial-cluster', `default=http://127.0.0.1:${etcdPeer}`, '--log-level', 'warn',
    ]);
    await waitUntilUp(`http://127.0.0.1:${etcdClient}/health`, etcd, 'etcd', 60_000);

    // The service-account token signer, and one static admin token in system:masters for kubectl.
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const saKey = path.join(dir, 'sa.key');
    const saPub = path.join(dir, 'sa.pub');
    writeFileSync(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(saPub, publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(path.join(dir, 'tokens.csv'), `${ADMIN_TOKEN},admin,admin,"system:masters"\n`);
    const certDir = path.join(dir, 'certs');
    const apiserver = run('kube-apiserver', [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', `--secure-port=${apiPort}`, `--cert-dir=${certDir}`,
      `--token-auth-file=${path.join(dir, 'tokens.csv')}`, '--authorization-mode=RBAC',
      // Without it a privileged-capable pod is refused before Pod Security Admission is even reached.
      '--allow-privileged=true',
      // One API server, no real endpoints to publish for the `kubernetes` Service.
      '--endpoint-reconciler-type=none',
      `--service-cluster-ip-range=${KUBERNETES_SERVICE_CIDR}`,
      '--service-account-issuer=https://kubernetes.default.svc', `--service-account-key-file=${saPub}`,
      `--service-account-signing-key-file=${saKey}`,
    ]);

    const kubeconfig = path.join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, [
      'apiVersion: v1', 'kind: Config', 'current-context: test',
      'clusters:', `- name: test`, '  cluster:', `    server: https://127.0.0.1:${apiPort}`, '    insecure-skip-tls-verify: true',
      'users:', '- name: admin', '  user:', `    token: ${ADMIN_TOKEN}`,
      'contexts:', '- name: test', '  context: {cluster: test, user: admin}', '',
    ].join('\n'));
    const kubectl = (args: string[], input?: string) =>
      spawnSync(path.join(bin, 'kubectl'), ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8', input, timeout: 120_000 });

    await waitFor('kube-apiserver /readyz', 120_000, apiserver, () => kubectl(['get', '--raw', '/readyz']).status === 0);
    run('kube-controller-manager', [
      `--kubeconfig=${kubeconfig}`, '--secure-port=0', '--leader-elect=false', '--use-service-account-credentials=false',
      '--controllers=serviceaccount,serviceaccount-token,namespace,garbagecollector,deployment,replicaset,daemonset',
      `--service-account-private-key-file=${saKey}`, `--root-ca-file=${path.join(certDir, 'apiserver.crt')}`,
    ]);
    await waitFor('the default service account', 120_000, apiserver,
      () => kubectl(['get', 'serviceaccount', 'default', '-n', 'default']).status === 0);
    return { kubeconfig, kubectl, stop };
  } catch (error) {
    const logs = children.map(({ name, log }) => `--- ${name}\n${log()}`).join('\n');
    await stop();
    throw new Error(`${(error as Error).message}\n${logs}`);
  }
}

/** Polls `ready` until it holds; fails if `child` exits first or the time runs out. */
export async function waitFor(what: string, timeoutMs: number, child: ChildProcess | undefined, ready: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) throw new Error(`exited before ${what} was ready`);
    if (ready()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} not ready within ${timeoutMs} ms`);
}
