import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AppStacks } from '../../lib/app-stacks';
import { composeApp } from '../../lib/compose-app';

export interface SynthesizedApp {
  readonly stacks: AppStacks;
  /** Templates by stack name. */
  readonly templates: Record<string, Template>;
  /** cdk-nag violations left after acknowledgements (the policy validation report's rules). */
  readonly nagViolations: { ruleName: string; resources: string[] }[];
}

/**
 * Composes and synthesizes the whole app as `bin/app.ts` does (same composeApp), with the given context
 * overrides and no AWS environment variables, into a temporary cloud assembly.
 */
export async function synthApp(
  context: Record<string, unknown> = {},
  options: { acknowledge?: boolean } = {},
): Promise<SynthesizedApp> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'comfyui-synth-'));
  const cdkJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8'));
  const cdkContext = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.context.json'), 'utf8'));
  const app = new App({ outdir, context: { ...cdkJson.context, ...cdkContext, ...context } });
  const stacks = await composeApp(app, {}, { acknowledgeNagFindings: options.acknowledge });
  // Without acknowledgements CDK prints every finding; the test reads them from the report instead.
  const restoreConsole = options.acknowledge === false ? muteConsole() : () => undefined;
  try {
    app.synth();
  } catch (error) {
    // A validation failure still writes its report; read it below.
    if (!fs.existsSync(path.join(outdir, 'validation-report.json'))) throw error;
  } finally {
    restoreConsole();
  }
  const templates: Record<string, Template> = {};
  for (const stack of app.node.children.filter((c): c is Stack => c instanceof Stack)) {
    templates[stack.stackName] = Template.fromJSON(
      JSON.parse(fs.readFileSync(path.join(outdir, stack.templateFile), 'utf8')),
    );
  }
  return { stacks, templates, nagViolations: readNagReport(outdir) };
}

function readNagReport(outdir: string): SynthesizedApp['nagViolations'] {
  const reportFile = path.join(outdir, 'validation-report.json');
  if (!fs.existsSync(reportFile)) return [];
  const report = JSON.parse(fs.readFileSync(reportFile, 'utf8'));
  const violations: SynthesizedApp['nagViolations'] = [];
  for (const plugin of report.pluginReports ?? []) {
    for (const v of plugin.violations ?? []) {
      violations.push({
        ruleName: v.ruleName,
        resources: v.violatingConstructs.map((r: { constructPath?: string }) => r.constructPath ?? ''),
      });
    }
  }
  return violations;
}

function muteConsole(): () => void {
  const saved = { error: console.error, log: console.log, warn: console.warn };
  console.error = console.log = console.warn = () => undefined;
  return () => Object.assign(console, saved);
}
