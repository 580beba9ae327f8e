/** What the model-sync function needs to know, read once from its environment. */
export interface ModelSyncConfig {
  /** Bucket whose notifications are accepted; events from any other bucket are ignored. */
  readonly modelsBucket: string;
  /** EKS cluster whose GPU nodes are sync targets. */
  readonly clusterName: string;
  /** Karpenter node pools whose nodes hold a model cache. */
  readonly nodePools: readonly string[];
  /** SSM Command document that runs the node sync script. */
  readonly syncDocumentName: string;
  /** CloudWatch log group for the command output of every node. */
  readonly syncLogGroup: string;
}

/** A missing or malformed environment variable; the message names it and says what it must hold. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

function required(env: Env, name: string, meaning: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(`Environment variable ${name} is not set: it must hold ${meaning}.`);
  return value;
}

// Karpenter node pool names are Kubernetes object names (RFC 1123 subdomains).
const NODE_POOL_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** Parses and validates the function's environment; throws ConfigError naming the first bad variable. */
export function readConfig(env: Env): ModelSyncConfig {
  const modelsBucket = required(env, 'MODELS_BUCKET', 'the models bucket name');
  const clusterName = required(env, 'CLUSTER_NAME', 'the EKS cluster name');
  const nodePoolsRaw = required(env, 'NODE_POOLS', 'comma-separated Karpenter node pool names');
  const syncDocumentName = required(env, 'SYNC_DOCUMENT_NAME', 'the SSM Command document name');
  const syncLogGroup = required(env, 'SYNC_LOG_GROUP', 'the CloudWatch log group for command output');

  const nodePools = nodePoolsRaw.split(',').map((p) => p.trim()).filter((p) => p !== '');
  const bad = nodePools.find((p) => !NODE_POOL_NAME.test(p));
  if (bad !== undefined || nodePools.length === 0) {
    throw new ConfigError(
      `Environment variable NODE_POOLS must be comma-separated Karpenter node pool names, got '${nodePoolsRaw}'`
        + (bad !== undefined ? ` ('${bad}' is not a valid name)` : ''),
    );
  }
  return { modelsBucket, clusterName, nodePools: [...new Set(nodePools)], syncDocumentName, syncLogGroup };
}
