import * as path from 'path';
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface JobsLambdaProps {
  /** Folder under lambda/ whose handler.ts is the entry (bundled by the local esbuild, no Docker). */
  readonly lambdaFolder: string;
  /** Says what the role may do, for whoever reads it in the console. */
  readonly description: string;
  /** The function's own calls (lib/policies/jobs-functions.ts); event sources add theirs. */
  readonly statements: iam.PolicyStatement[];
  readonly environment: Record<string, string>;
  readonly timeout: Duration;
  /** @default 256 MiB, as the model-sync function */
  readonly memorySize?: number;
}

/**
 * One jobs function with what every jobs function shares: the model-sync function's runtime, architecture and
 * bundling (lib/constructs/model-sync-function.ts), its own role with one inline policy, and a log group kept a month.
 */
export class JobsLambda extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: JobsLambdaProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: props.description,
      inlinePolicies: { Jobs: new iam.PolicyDocument({ statements: props.statements }) },
    });
    logGroup.grantWrite(this.role);
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.join(__dirname, '..', '..', 'lambda', props.lambdaFolder, 'handler.ts'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout,
      role: this.role,
      logGroup,
      environment: { ...props.environment, POWERTOOLS_SERVICE_NAME: `comfyui-${props.lambdaFolder}` },
      bundling: { minify: true, sourceMap: true, target: 'node24', forceDockerBundling: false },
    });
  }
}
