#!/usr/bin/env node
import 'source-map-support/register';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { createStacks } from '../lib/app-stacks';
import { loadConfig } from '../lib/config';
import { acknowledgeNagFindings } from '../lib/nag';

async function main(): Promise<void> {
  const app = new App();
  const config = loadConfig((key) => app.node.tryGetContext(key), process.env);
  const stacks = await createStacks(app, config);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  acknowledgeNagFindings(stacks);
  app.synth();
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
