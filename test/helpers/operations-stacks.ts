import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { expect } from 'vitest';
import { AppConfig, loadConfig } from '../../lib/config';
import { OperationsEdgeStack } from '../../lib/stacks/operations-edge-stack';
import { OperationsSources, OperationsStack } from '../../lib/stacks/operations-stack';

const env = { account: '123456789012', region: 'us-west-2' };

/** A stack standing in for the watched ones: queues, a function and a distribution id. */
export function watchedResources(app: App, withJobs: boolean): OperationsSources {
  const owner = new Stack(app, 'Watched', { env });
  const queue = (id: string) => new sqs.Queue(owner, id, { enforceSSL: true });
  const fn = new lambda.Function(owner, 'Fn', {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => undefined;'),
  });
  return {
    modelSyncDeadLetterQueue: queue('ModelSyncDlq'),
    functions: { 'Model sync': fn },
    jobs: withJobs ? { queue: queue('Jobs'), deadLetterQueue: queue('JobsDlq'), webhookDeadLetterQueue: queue('WebhookDlq') } : undefined,
    distributionId: 'E2EXAMPLE',
  };
}

/** Both operations stacks in a bare app, built from the config the context gives, watching the stand-in stack. */
export function buildOperationsStacks(context: Record<string, unknown> = {}, withJobs = true) {
  const app = new App();
  const config: AppConfig = loadConfig((key) => context[key]);
  const home = new OperationsStack(app, 'Ops', { env, config, sources: watchedResources(app, withJobs) });
  const edge = new OperationsEdgeStack(app, 'OpsEdge', { env: { ...env, region: 'us-east-1' }, config, distributionId: 'E2EXAMPLE' });
  return { app, config, home, edge, template: Template.fromStack(home), edgeTemplate: Template.fromStack(edge) };
}

/** The one alarm whose id in the stack starts with `prefix`. */
export function alarm(template: Template, prefix: string): Record<string, any> {
  const alarms = Object.entries(template.findResources('AWS::CloudWatch::Alarm')).filter(([id]) => id.startsWith(prefix));
  expect(alarms.map(([id]) => id)).toHaveLength(1);
  return alarms[0][1].Properties;
}

/** The dashboard body with its Fn::Join flattened (tokens become their JSON). */
export function dashboardBody(template: Template): string {
  const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  const body = dashboard.Properties.DashboardBody;
  return typeof body === 'string' ? body : body['Fn::Join'][1].map((p: unknown) => (typeof p === 'string' ? p : JSON.stringify(p))).join('');
}

