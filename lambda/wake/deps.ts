import { Logger } from '@aws-lambda-powertools/logger';
import { SendMessageCommand, SQSClient, SQSClientConfig } from '@aws-sdk/client-sqs';
import type { Env } from '../../lib/jobs/env';
import { readWakeSettings, WakeSettings } from './settings';
import type { WakeMessage } from './wake-response';

export interface WakeDeps {
  readonly settings: WakeSettings;
  /** Sends one message to the wake queue. */
  readonly sendWake: (message: WakeMessage) => Promise<void>;
  readonly now: () => number;
  readonly logger: Logger;
}

/** SDK client settings; empty in Lambda (the standard chain and region), a loopback endpoint in tests. */
export type ClientConfig = Pick<SQSClientConfig, 'endpoint' | 'region' | 'credentials'>;

/** Reads the environment and creates the client once. Two attempts: the page must not wait long on SQS. */
export function createWakeDeps(env: Env, clientConfig: ClientConfig = {}): WakeDeps {
  const settings = readWakeSettings(env);
  const sqs = new SQSClient({ ...clientConfig, maxAttempts: 2 });
  return {
    settings,
    sendWake: async (message) => {
      await sqs.send(new SendMessageCommand({ QueueUrl: settings.queueUrl, MessageBody: JSON.stringify(message) }));
    },
    now: () => Date.now(),
    logger: new Logger({ serviceName: 'comfyui-wake' }),
  };
}
