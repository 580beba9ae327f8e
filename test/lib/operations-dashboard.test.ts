import * as fs from 'fs';
import * as path from 'path';
import { beforeAll, describe, expect, test } from 'vitest';
import { MODEL_SYNC_DONE_LINE, MODEL_SYNC_FAILED_LINE } from '../../lib/constructs/operations-sync-metrics';
import { modelSyncLogGroupName, operationsDashboardName } from '../../lib/names';
import { buildOperationsStacks as build, dashboardBody } from '../helpers/operations-stacks';

const ROOT = path.join(__dirname, '..', '..');

/** Prometheus series names the multi-GPU package exposes, as the CloudWatch agent names them. */
function exposedSeries(): string[] {
  const source = fs.readFileSync(path.join(ROOT, 'comfyui_image', 'multigpu', 'core', 'metrics.py'), 'utf8');
  return [...source.matchAll(/(Counter|Gauge|Histogram)\(\s*"([a-z_]+)"/g)].flatMap(([, kind, name]) =>
    kind === 'Counter' ? [`${name}_total`] : kind === 'Histogram' ? [`${name}_sum`, `${name}_count`] : [name]);
}

describe('the dashboard', () => {
  let body: string;
  beforeAll(() => {
    body = dashboardBody(build().template);
  });

  test('is named after the cluster', () => {
    build().template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: operationsDashboardName('comfyui') });
  });

  test('draws GPU utilization and memory per node from Container Insights, found by search', () => {
    for (const metric of ['node_gpu_utilization', 'node_gpu_memory_utilization']) {
      expect(body).toContain(`SEARCH('{ContainerInsights,ClusterName,InstanceId,NodeName} MetricName=\\"${metric}\\" ClusterName=\\"comfyui\\"', 'Average', 60)`);
    }
  });

  test('reads only /metrics series that comfyui_image/multigpu/core/metrics.py exposes', () => {
    const used = [...body.matchAll(/MetricName=\\"(comfyui_[a-z_]+)\\"/g)].map((m) => m[1]);
    expect(new Set(used)).toEqual(new Set([
      'comfyui_gpu_queue_depth', 'comfyui_gpu_queue_wait_seconds_sum', 'comfyui_gpu_queue_wait_seconds_count',
      'comfyui_gpu_prompts_total', 'comfyui_gpu_oom_total',
    ]));
    const exposed = exposedSeries();
    for (const name of used) expect(exposed).toContain(name);
  });

  test('draws the jobs backlog and age, the dead-letter queues, sync runs, Lambda errors and CloudFront from us-east-1', () => {
    for (const text of ['ApproximateNumberOfMessagesVisible', 'ApproximateAgeOfOldestMessage', 'SyncRunsFailed', 'SyncRunsSucceeded', '"Errors"', '5xxErrorRate', '4xxErrorRate']) {
      expect(body).toContain(text);
    }
    expect(body).toMatch(/"AWS\/CloudFront","5xxErrorRate","DistributionId","E2EXAMPLE","Region","Global",\{[^}]*"region":"us-east-1"/);
  });
});

describe('model-sync run metrics', () => {
  test('count the last line of every sync run, as model_sync writes it', () => {
    const log = fs.readFileSync(path.join(ROOT, 'lambda', 'model-sync', 'node', 'model_sync', 'log.py'), 'utf8');
    const cli = fs.readFileSync(path.join(ROOT, 'lambda', 'model-sync', 'node', 'model_sync', 'cli.py'), 'utf8');
    const prefix = /^PREFIX = "(.*)"$/m.exec(log)?.[1];
    expect(`${prefix}done:`).toBe(MODEL_SYNC_DONE_LINE);
    expect(`${prefix}FAILED:`).toBe(MODEL_SYNC_FAILED_LINE);
    expect(cli).toContain('log("done: "');
    expect(cli).toContain('log("FAILED: ');
    const template = build().template;
    for (const [metric, line] of [['SyncRunsSucceeded', MODEL_SYNC_DONE_LINE], ['SyncRunsFailed', MODEL_SYNC_FAILED_LINE]]) {
      template.hasResourceProperties('AWS::Logs::MetricFilter', {
        LogGroupName: modelSyncLogGroupName('comfyui'),
        FilterPattern: `"${line}"`,
        MetricTransformations: [{ MetricNamespace: 'ComfyUI/comfyui/ModelSync', MetricName: metric, MetricValue: '1' }],
      });
    }
  });
});
