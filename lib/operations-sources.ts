import { Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { OperationsSources } from './stacks/operations-stack';

/** The stacks the operations stack watches, as app-stacks.ts holds them. */
export interface WatchedStacks {
  readonly modelsSync: Stack;
  /** The jobs stack (config `jobs`). */
  readonly jobs?: Stack;
  readonly distributionId?: string;
}

/**
 * Finds what the operations stack watches inside the stacks that own it, by construct id (ModelsSyncStack's
 * `ModelSync`, JobsStack's `Queues`, `Api`, `Webhooks`, `DeadLetter`): those stacks keep them private. A renamed
 * id fails synth here, with the path it looked for.
 */
export function findOperationsSources(watched: WatchedStacks): OperationsSources {
  const modelSync = child(watched.modelsSync, 'ModelSync');
  const functions: Record<string, lambda.IFunction> = { 'Model sync': functionOf(modelSync) };
  let jobs: OperationsSources['jobs'];
  if (watched.jobs) {
    const queues = child(watched.jobs, 'Queues');
    jobs = {
      queue: queueAt(queues, 'Jobs'),
      deadLetterQueue: queueAt(queues, 'JobsDeadLetter'),
      webhookDeadLetterQueue: queueAt(queues, 'WebhookRetriesDeadLetter'),
    };
    for (const [label, id] of [['Jobs API', 'Api'], ['Job webhooks', 'Webhooks'], ['Jobs dead letters', 'DeadLetter']]) {
      functions[label] = functionOf(child(watched.jobs, id));
    }
  }
  return {
    modelSyncDeadLetterQueue: queueAt(modelSync, 'DeadLetterQueue'),
    functions,
    jobs,
    distributionId: watched.distributionId,
  };
}

function child(scope: Construct, id: string): Construct {
  const found = scope.node.tryFindChild(id);
  if (!(found instanceof Construct)) throw new Error(`operations: no construct '${id}' in ${scope.node.path}; update findOperationsSources`);
  return found;
}

function queueAt(scope: Construct, id: string): sqs.IQueue {
  const found = child(scope, id);
  if (!(found instanceof sqs.Queue)) throw new Error(`operations: ${found.node.path} is not an SQS queue`);
  return found;
}

/** Our function constructs expose their Lambda function as `function`. */
function functionOf(scope: Construct): lambda.IFunction {
  const fn = (scope as { function?: unknown }).function;
  if (!(fn instanceof lambda.Function)) throw new Error(`operations: ${scope.node.path} has no Lambda function`);
  return fn;
}
