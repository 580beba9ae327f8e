import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describe, expect, test } from 'vitest';
import { App, Aws, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AppStacks, createStacks } from '../../lib/app-stacks';
import { loadConfig } from '../../lib/config';
import { acknowledgeNagFindings } from '../../lib/nag';

/**
 * Composes the app as composeApp does, lets `change` add to it before cdk-nag and the acknowledgements run,
 * and returns the rule and construct path of every finding left unacknowledged.
 */
async function findingsLeftAfter(change: (stacks: AppStacks) => void): Promise<string[]> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'comfyui-nag-'));
  const root = path.join(__dirname, '..', '..');
  const cdkJson = JSON.parse(fs.readFileSync(path.join(root, 'cdk.json'), 'utf8'));
  const cdkContext = JSON.parse(fs.readFileSync(path.join(root, 'cdk.context.json'), 'utf8'));
  const app = new App({ outdir, context: { ...cdkJson.context, ...cdkContext } });
  const stacks = await createStacks(app, loadConfig((key) => app.node.tryGetContext(key)));
  change(stacks);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  acknowledgeNagFindings(stacks);
  const saved = { error: console.error, log: console.log, warn: console.warn };
  console.error = console.log = console.warn = () => undefined;
  try {
    app.synth();
  } catch {
    // cdk-nag findings fail synth after writing the report read below.
  } finally {
    Object.assign(console, saved);
  }
  const reportFile = path.join(outdir, 'validation-report.json');
  if (!fs.existsSync(reportFile)) return [];
  const report = JSON.parse(fs.readFileSync(reportFile, 'utf8'));
  return report.pluginReports.flatMap((plugin: any) =>
    plugin.violations.flatMap((v: any) => v.violatingConstructs.map((c: any) => `${v.ruleName} ${c.constructPath}`)),
  );
}

describe('cdk-nag acknowledgements', () => {
  test('name the exact finding: a new wildcard on another bucket in the GPU node role still fails synth', async () => {
    const left = await findingsLeftAfter((stacks) => {
      const nodeRole = stacks.cluster.cluster.node.findChild('karpenter-node-role') as iam.Role;
      nodeRole.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [`arn:${Aws.PARTITION}:s3:::someone-elses-bucket/*`] }),
      );
    });
    expect(left).toEqual([
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::someone-elses-bucket/*] ' +
        'Comfyui-Cluster/Comfyui-Cluster/karpenter-node-role/DefaultPolicy/Resource',
    ]);
  });
});
