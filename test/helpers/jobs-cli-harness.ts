import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { jobKey } from '../../lib/jobs/contract';
import { CapturedRun, runCaptured } from './captured-comfyctl';
import { JobsApiServer, startJobsApiServer } from './jobs-api-server';
import { startJobsBackend } from './jobs-backend';
import { UserTokenProxy, startUserTokenProxy } from './user-token-proxy';

/** An API-format workflow with a sampler, a prompt and a saved output, as comfyctl's tests submit and publish it. */
export const SAMPLE_WORKFLOW = {
  3: { class_type: 'KSampler', inputs: { seed: 5, steps: 20, model: ['4', 0] } },
  4: { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'sd_xl_base_1.0.safetensors' } },
  6: { class_type: 'CLIPTextEncode', inputs: { text: 'a cat', clip: ['4', 1] } },
  9: { class_type: 'SaveImage', inputs: { filename_prefix: 'ComfyUI', images: ['3', 0] } },
};

/**
 * The jobs backend in moto, the real API handler on loopback, and the edge stand-in in front mapping each token
 * to its user: what `comfyctl jobs` and `comfyctl templates` talk to in their tests.
 */
export interface JobsCliHarness {
  readonly backend: Awaited<ReturnType<typeof startJobsBackend>>;
  readonly api: JobsApiServer;
  readonly edge: UserTokenProxy;
  readonly db: DynamoDBDocumentClient;
  readonly s3: S3Client;
  /** `comfyctl <args>` as `token`'s user, the token in COMFYUI_TOKEN as users are told to pass it. Runs must not overlap. */
  comfyctl(token: string, ...args: string[]): Promise<CapturedRun>;
  /** The job's item in the table. */
  jobItem(id: string): Promise<Record<string, any>>;
  /** Sets attributes of the job's item, as the job runner would. */
  updateJob(id: string, fields: Record<string, unknown>): Promise<void>;
  stop(): Promise<void>;
}

export async function startJobsCliHarness(tokens: Readonly<Record<string, string>>): Promise<JobsCliHarness> {
  const backend = await startJobsBackend();
  const api = await startJobsApiServer(backend.env);
  const edge = await startUserTokenProxy(api.url, tokens);
  const db = DynamoDBDocumentClient.from(new DynamoDBClient(backend.clientConfig));
  const s3 = new S3Client(backend.clientConfig);
  const key = (id: string) => ({ TableName: backend.tableName, Key: { pk: jobKey(id) } });
  return {
    backend, api, edge, db, s3,
    comfyctl: async (token, ...args) => {
      process.env.COMFYUI_TOKEN = token;
      try {
        return await runCaptured([...args, '--url', edge.url]);
      } finally {
        delete process.env.COMFYUI_TOKEN;
      }
    },
    jobItem: async (id) => (await db.send(new GetCommand(key(id)))).Item!,
    updateJob: async (id, fields) => {
      const names = Object.keys(fields);
      await db.send(new UpdateCommand({
        ...key(id),
        UpdateExpression: `SET ${names.map((_, i) => `#f${i} = :v${i}`).join(', ')}`,
        ExpressionAttributeNames: Object.fromEntries(names.map((n, i) => [`#f${i}`, n])),
        ExpressionAttributeValues: Object.fromEntries(names.map((n, i) => [`:v${i}`, fields[n]])),
      }));
    },
    stop: async () => {
      db.destroy();
      s3.destroy();
      await edge.close();
      await api.stop();
      await backend.stop();
    },
  };
}
