import { execFile } from 'node:child_process';
import { COMFYUI_NAMESPACE } from '../../names';
import { SourceAnswer } from '../models/sync-report-sources';
import { ClusterFacts, KubeAccess } from './doctor-facts';

/** How doctor runs kubectl: the binary, and the kubeconfig and context (kubectl's own defaults when unset). */
export interface KubectlOptions {
  readonly kubectl: string;
  readonly kubeconfig?: string;
  readonly context?: string;
}

/** Per call; a list of a few hundred objects takes well under a second on a healthy API server. */
const KUBECTL_TIMEOUT_MS = 60_000;

interface KubectlRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function runKubectl(options: KubectlOptions, args: readonly string[]): Promise<KubectlRun> {
  const global = [
    ...(options.kubeconfig ? ['--kubeconfig', options.kubeconfig] : []),
    ...(options.context ? ['--context', options.context] : []),
    `--request-timeout=${KUBECTL_TIMEOUT_MS / 1000}s`,
  ];
  return new Promise((resolve) => {
    execFile(options.kubectl, [...global, ...args], { timeout: KUBECTL_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      const spawnFailure = error && typeof error.code === 'string' ? `${options.kubectl}: ${error.message}` : '';
      resolve({ code, stdout, stderr: spawnFailure || stderr });
    });
  });
}

/** kubectl's last non-empty stderr line: its error, without the klog noise before it. */
function kubectlError(run: KubectlRun): string {
  return run.stderr.trim().split('\n').filter((l) => l.trim() !== '').at(-1) ?? `kubectl exited with ${run.code}`;
}

/** `kubectl auth can-i '*' '*'`: exit 0 and `yes`, exit 1 and `no`, anything else is kubectl failing to ask. */
export async function readKubeAccess(options: KubectlOptions): Promise<SourceAnswer<KubeAccess>> {
  const [run, current] = await Promise.all([runKubectl(options, ['auth', 'can-i', '*', '*']), runKubectl(options, ['config', 'current-context'])]);
  const answer = run.stdout.trim();
  const context = options.context ?? (current.code === 0 ? current.stdout.trim() : undefined);
  if (answer === 'yes' || answer === 'no') return { ok: { admin: answer === 'yes', answer, context } };
  return { error: kubectlError(run) };
}

/** The items of `kubectl get <resource> -o json`, in one namespace or all. */
async function listObjects<T>(options: KubectlOptions, resource: string, scope: string[]): Promise<SourceAnswer<readonly T[]>> {
  const run = await runKubectl(options, ['get', resource, ...scope, '-o', 'json']);
  if (run.code !== 0) return { error: `kubectl get ${resource}: ${kubectlError(run)}` };
  try {
    return { ok: (JSON.parse(run.stdout) as { items?: T[] }).items ?? [] };
  } catch (error) {
    return { error: `kubectl get ${resource}: not JSON (${(error as Error).message})` };
  }
}

/** Every object the checks read, fetched at once. */
export async function readClusterFacts(options: KubectlOptions): Promise<ClusterFacts> {
  const all = ['--all-namespaces'];
  const comfyui = ['-n', COMFYUI_NAMESPACE];
  const [nodes, daemonSets, deployments, pods, events, nodeClasses, nodePools, scaledObjects] = await Promise.all([
    listObjects(options, 'nodes', []),
    listObjects(options, 'daemonsets.apps', all),
    listObjects(options, 'deployments.apps', all),
    listObjects(options, 'pods', [...comfyui, '-l', 'app.kubernetes.io/name=comfyui']),
    listObjects(options, 'events', comfyui),
    listObjects(options, 'ec2nodeclasses.karpenter.k8s.aws', []),
    listObjects(options, 'nodepools.karpenter.sh', []),
    listObjects(options, 'scaledobjects.keda.sh', comfyui),
  ]);
  return { nodes, daemonSets, deployments, pods, events, nodeClasses, nodePools, scaledObjects } as ClusterFacts;
}
