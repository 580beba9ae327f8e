#!/usr/bin/env node
import 'source-map-support/register';
import { App } from 'aws-cdk-lib';
import { composeApp } from '../lib/compose-app';

async function main(): Promise<void> {
  const app = new App();
  await composeApp(app, process.env);
  app.synth();
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
