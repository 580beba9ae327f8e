import { App } from 'aws-cdk-lib';
import { AppConfig } from './config';
import { STACK_NAMES } from './names';
import { buildClusterStack, ClusterStack } from './stacks/cluster-stack';
import { CloudFrontEntryStack } from './stacks/cloudfront-entry-stack';
import { EcrRepoStack } from './stacks/ecr-repo-stack';
import { ModelsSyncStack } from './stacks/models-sync-stack';
import { OutputsStorageStack } from './stacks/outputs-storage-stack';

export interface AppStacks {
  readonly ecrRepo: EcrRepoStack;
  readonly outputsStorage: OutputsStorageStack;
  readonly modelsSync: ModelsSyncStack;
  readonly cluster: ClusterStack;
  readonly cloudFrontEntry?: CloudFrontEntryStack;
}

/**
 * Creates every stack of the app, in deploy order. Stack dependencies give `cdk deploy --all` the order:
 * buckets before the cluster (its roles name them), the cluster before CloudFront (its ALB).
 */
export async function createStacks(app: App, config: AppConfig): Promise<AppStacks> {
  const env = { account: config.account, region: config.region };
  const ecrRepo = new EcrRepoStack(app, STACK_NAMES.ecrRepo, { env, config });
  const outputsStorage = new OutputsStorageStack(app, STACK_NAMES.outputsStorage, { env, config });
  const modelsSync = new ModelsSyncStack(app, STACK_NAMES.modelsSync, { env, config });
  const cluster = await buildClusterStack(app, STACK_NAMES.cluster, {
    env,
    config,
    bucketStacks: [modelsSync, outputsStorage],
  });
  const cloudFrontEntry = config.cloudFront
    ? new CloudFrontEntryStack(app, STACK_NAMES.cloudFrontEntry, {
        env,
        config,
        loadBalancer: cluster.loadBalancer.loadBalancer,
      })
    : undefined;
  return { ecrRepo, outputsStorage, modelsSync, cluster, cloudFrontEntry };
}
