import {
  DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, ListObjectsV2CommandOutput, PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import { JOBS } from '../../lib/jobs/contract';
import type { TemplateDocument } from '../../lib/jobs/templates';

/**
 * Templates in the versioned templates bucket at templates/<name>/<version>.json (docs/jobs.md, "Templates").
 * A version is written with If-None-Match: *, so two publishers racing for one number cannot both win: S3 answers
 * the loser 412 (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html) and it takes the next.
 */
export function templateKey(name: string, version: number): string {
  return `${JOBS.templatesKeyPrefix}${name}/${version}.json`;
}

const VERSION_KEY = /^([^/]+)\/([1-9][0-9]*)\.json$/;
// Each retry follows a publisher that just took a number; more than a few in a row means something else is wrong.
const MAX_PUBLISH_TRIES = 5;

export interface TemplateSummary {
  readonly name: string;
  readonly latest_version: number;
  readonly description: string | null;
  readonly updated_time: number;
}

export class TemplateStore {
  constructor(private readonly s3: S3Client, private readonly bucket: string) {}

  /** Every current template object under `prefix`: name, version, last modified. */
  private async listObjects(prefix: string): Promise<Array<{ key: string; name: string; version: number; modified: number }>> {
    const found = [];
    let token: string | undefined;
    do {
      const page: ListObjectsV2CommandOutput = await this.s3.send(new ListObjectsV2Command({
        Bucket: this.bucket, Prefix: prefix, ContinuationToken: token,
      }));
      for (const object of page.Contents ?? []) {
        const match = VERSION_KEY.exec(object.Key!.slice(JOBS.templatesKeyPrefix.length));
        if (match === null) continue;
        found.push({ key: object.Key!, name: match[1], version: Number(match[2]), modified: object.LastModified?.getTime() ?? 0 });
      }
      token = page.NextContinuationToken;
    } while (token !== undefined);
    return found;
  }

  private async latestVersion(name: string): Promise<number | undefined> {
    const versions = (await this.listObjects(`${JOBS.templatesKeyPrefix}${name}/`)).map((o) => o.version);
    return versions.length === 0 ? undefined : Math.max(...versions);
  }

  /** Stores `template` as the next version of its name and returns that version. */
  async publish(template: Omit<TemplateDocument, 'version'>): Promise<TemplateDocument> {
    for (let tries = 0; tries < MAX_PUBLISH_TRIES; tries++) {
      const version = ((await this.latestVersion(template.name)) ?? 0) + 1;
      const document: TemplateDocument = { ...template, version };
      try {
        await this.s3.send(new PutObjectCommand({
          Bucket: this.bucket,
          Key: templateKey(template.name, version),
          Body: JSON.stringify(document),
          ContentType: 'application/json',
          IfNoneMatch: '*',
        }));
        return document;
      } catch (error) {
        // 412: another publisher took this number; 409: a concurrent conditional write to the same key is in flight.
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (status !== 412 && status !== 409) throw error;
      }
    }
    throw new Error(`Template '${template.name}': ${MAX_PUBLISH_TRIES} publishers in a row took the next version first`);
  }

  /** A version of a template (the latest when `version` is undefined), or undefined when there is none. */
  async get(name: string, version?: number): Promise<TemplateDocument | undefined> {
    const wanted = version ?? await this.latestVersion(name);
    if (wanted === undefined) return undefined;
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: templateKey(name, wanted) }));
      return JSON.parse(await out.Body!.transformToString()) as TemplateDocument;
    } catch (error) {
      if ((error as Error).name === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  /** Every template with its latest version, by name. */
  async list(): Promise<TemplateSummary[]> {
    const latest = new Map<string, { version: number; modified: number }>();
    for (const o of await this.listObjects(JOBS.templatesKeyPrefix)) {
      const known = latest.get(o.name);
      if (known === undefined || o.version > known.version) latest.set(o.name, o);
    }
    const names = [...latest.keys()].sort();
    return Promise.all(names.map(async (name) => {
      const { version, modified } = latest.get(name)!;
      const document = await this.get(name, version);
      return { name, latest_version: version, description: document?.description ?? null, updated_time: modified };
    }));
  }

  /**
   * Deletes every version's current object (the bucket keeps them as non-current versions for its lifecycle's
   * 30 days); returns how many there were.
   */
  async delete(name: string): Promise<number> {
    const objects = await this.listObjects(`${JOBS.templatesKeyPrefix}${name}/`);
    // DeleteObjects takes at most 1000 keys per call.
    for (let i = 0; i < objects.length; i += 1000) {
      await this.s3.send(new DeleteObjectsCommand({
        Bucket: this.bucket,
        Delete: { Objects: objects.slice(i, i + 1000).map((o) => ({ Key: o.key })), Quiet: true },
      }));
    }
    return objects.length;
  }
}
