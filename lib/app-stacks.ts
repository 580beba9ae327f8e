import { App } from 'aws-cdk-lib';
import { AppConfig } from './config';
import { CLOUDFRONT_METRICS_REGION } from './constructs/operations-metrics';
import { EDGE_WEB_ACL_STACK_NAME, STACK_NAMES } from './names';
import { buildClusterStack, ClusterStack } from './stacks/cluster-stack';
import { CloudFrontEntryStack } from './stacks/cloudfront-entry-stack';
import { EcrRepoStack } from './stacks/ecr-repo-stack';
import { JobsStack } from './stacks/jobs-stack';
import { CLOUDFRONT_WEB_ACL_REGION, EdgeWebAclStack } from './stacks/edge-web-acl-stack';
import { ModelsSyncStack } from './stacks/models-sync-stack';
import { OperationsEdgeStack } from './stacks/operations-edge-stack';
import { findOperationsSources } from './operations-sources';
import { OperationsStack } from './stacks/operations-stack';
import { OutputsStorageStack } from './stacks/outputs-storage-stack';

export interface AppStacks {
  readonly ecrRepo: EcrRepoStack;
  readonly outputsStorage: OutputsStorageStack;
  readonly modelsSync: ModelsSyncStack;
  readonly cluster: ClusterStack;
  /** Only with `jobs` on (the default). */
  readonly jobs?: JobsStack;
  readonly cloudFrontEntry?: CloudFrontEntryStack;
  /** Only with `waf` on: CloudFront takes web ACLs from us-east-1 alone. */
  readonly edgeWebAcl?: EdgeWebAclStack;
  /** Only with `operations` on (the default): the dashboard and alarms. */
  readonly operations?: OperationsStack;
  /** Only with `operations` and `cloudFront` on: CloudFront's alarm, in us-east-1 with CloudFront's metrics. */
  readonly operationsEdge?: OperationsEdgeStack;
}

/**
 * Creates every stack of the app, in deploy order. Stack dependencies give `cdk deploy --all` the order:
 * buckets before the cluster (its roles name them), the cluster before the jobs stack (its Pod Identity association
 * names the cluster), both before CloudFront (the ALB, the jobs API's function URL).
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
  const jobs = config.jobs ? new JobsStack(app, STACK_NAMES.jobs, { env, config }) : undefined;
  // Referenced by name only (cluster name, outputs bucket name), so the order must be stated.
  jobs?.addDependency(cluster.stack);
  jobs?.addDependency(outputsStorage);
  const edgeWebAcl = config.cloudFront && config.waf
    ? new EdgeWebAclStack(app, EDGE_WEB_ACL_STACK_NAME, {
        env: { account: config.account, region: CLOUDFRONT_WEB_ACL_REGION },
        rateLimitPer5Minutes: config.wafRateLimitPer5Minutes,
      })
    : undefined;
  const cloudFrontEntry = config.cloudFront
    ? new CloudFrontEntryStack(app, STACK_NAMES.cloudFrontEntry, {
        env,
        config,
        loadBalancer: cluster.loadBalancer.loadBalancer,
        albSecurityGroup: cluster.loadBalancer.securityGroup,
        vpc: cluster.vpc,
        webAclArn: edgeWebAcl?.edgeWebAcl.webAcl.attrArn,
        jobsApiUrl: jobs?.apiUrl,
      })
    : undefined;
  // Last: they watch the queues, functions and distribution of the stacks above.
  const distributionId = cloudFrontEntry?.edge.distribution.distributionId;
  const operations = config.operations
    ? new OperationsStack(app, STACK_NAMES.operations, {
        env,
        config,
        sources: findOperationsSources({ modelsSync, jobs, distributionId }),
      })
    : undefined;
  // Its metric filters find the model-sync command log group by name.
  operations?.addDependency(modelsSync);
  const operationsEdge = operations && distributionId
    ? new OperationsEdgeStack(app, STACK_NAMES.operationsEdge, {
        env: { account: config.account, region: CLOUDFRONT_METRICS_REGION },
        config,
        distributionId,
      })
    : undefined;
  return { ecrRepo, outputsStorage, modelsSync, cluster, jobs, cloudFrontEntry, edgeWebAcl, operations, operationsEdge };
}
