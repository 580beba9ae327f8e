import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AppStacks, createStacks } from './app-stacks';
import { loadConfig } from './config';
import { acknowledgeNagFindings } from './nag';

/**
 * Everything `bin/app.ts` does before synth: load the config from the app's context, create the stacks,
 * attach cdk-nag and its acknowledgements. The tests call it too, so they synthesize the app users get.
 * `acknowledgeNagFindings: false` exists for the test that proves cdk-nag can fail.
 */
export async function composeApp(
  app: App,
  env: NodeJS.ProcessEnv,
  options: { acknowledgeNagFindings?: boolean } = {},
): Promise<AppStacks> {
  const stacks = await createStacks(app, loadConfig((key) => app.node.tryGetContext(key), env));
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  if (options.acknowledgeNagFindings ?? true) acknowledgeNagFindings(stacks);
  return stacks;
}
