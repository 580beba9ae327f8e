import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KEDA_NAMESPACE } from '../../lib/names';
import { freeLoopbackPort, waitUntilUp } from './loopback-server';

/**
 * KEDA's real operator (built by scripts/keda-operator.sh at the version tools/manifest-tools.txt pins for its CRDs)
 * as a child process against a loopback control plane (test/helpers/kube-control-plane.ts). It runs the
 * ScaledObject controller, the scale loop (0 <-> 1 through the scale subresource) and the gRPC metrics service
 * the metrics adapter would read; no admission webhooks and no metrics adapter (the test's KCM runs no HPA
 * controller, so 1 <-> N is not exercised).
 */
export interface KedaOperator {
  /** The last lines of its log (JSON, one entry per line), for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

/** Hard upper bound on the operator's life, so a crashed test run can never leave it behind. */
const MAX_LIFETIME_SECONDS = 600;

/** The binary: $KEDA_OPERATOR_BIN, which `npm test` sets after building it. */
export function kedaOperatorBin(): string {
  const bin = process.env.KEDA_OPERATOR_BIN;
  if (!bin || !existsSync(bin)) {
    throw new Error(
      `KEDA's operator is missing (KEDA_OPERATOR_BIN=${bin ?? 'unset'}): run \`npm test\`, or ` +
        'export KEDA_OPERATOR_BIN="$(bash scripts/keda-operator.sh)" (a cold build takes 20-40 min) and rerun',
    );
  }
  return bin;
}

/**
 * The gRPC metrics service loads ca.crt, tls.crt and tls.key from --cert-dir at start
 * (pkg/metricsservice/utils/tls.go); in a cluster the Helm chart or cert rotation provides them.
 */
function writeMetricsServiceCerts(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe', timeout: 60_000 });
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=keda-test-ca',
    '-keyout', 'ca.key', '-out', 'ca.crt']);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=keda-operator', '-keyout', 'tls.key', '-out', 'tls.csr']);
  writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl(['x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1',
    '-extfile', 'san.ext', '-out', 'tls.crt']);
}

/** Starts the operator with `env` added (e.g. the variables EKS Pod Identity injects); resolves once it is ready. */
export async function startKedaOperator(kubeconfig: string, env: Record<string, string> = {}): Promise<KedaOperator> {
  const bin = kedaOperatorBin();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'keda-operator-'));
  writeMetricsServiceCerts(path.join(dir, 'certs'));
  mkdirSync(path.join(dir, 'ca'));
  const [metrics, health, metricsService] = [await freeLoopbackPort(), await freeLoopbackPort(), await freeLoopbackPort()];
  const child: ChildProcess = spawn('timeout', [String(MAX_LIFETIME_SECONDS), bin,
    `--kubeconfig=${kubeconfig}`,
    `--metrics-bind-address=127.0.0.1:${metrics}`, `--health-probe-bind-address=127.0.0.1:${health}`,
    `--metrics-service-bind-address=127.0.0.1:${metricsService}`,
    `--cert-dir=${path.join(dir, 'certs')}`, `--ca-dir=${path.join(dir, 'ca')}`,
    '--zap-log-level=info', '--zap-encoder=json',
  ], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      // All namespaces, as the chart's default; cluster-scoped objects' Secrets are read from KEDA's namespace.
      WATCH_NAMESPACE: '',
      KEDA_CLUSTER_OBJECT_NAMESPACE: KEDA_NAMESPACE,
      POD_NAMESPACE: KEDA_NAMESPACE,
      ...env,
    },
  });
  let log = '';
  const keep = (d: Buffer) => { log = (log + d.toString()).slice(-20_000); };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const stop = () => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
  try {
    await waitUntilUp(`http://127.0.0.1:${health}/readyz`, child, 'keda-operator', 120_000);
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n${log}`);
  }
  return { log: () => log, stop };
}
