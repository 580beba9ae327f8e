// The KeyValueStore API signs with SigV4A (one signature valid in every region); this import registers the
// SDK's pure-JavaScript SigV4A signer. https://github.com/aws/aws-sdk-js-v3#functionality-requiring-aws-common-runtime-crt
import '@aws-sdk/signature-v4a';
import {
  AccessDeniedException,
  CloudFrontKeyValueStoreClient,
  CloudFrontKeyValueStoreServiceException,
  ConflictException,
  DeleteKeyCommand,
  DescribeKeyValueStoreCommand,
  GetKeyCommand,
  paginateListKeys,
  PutKeyCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { parseStoredCredential, StoredCredential, userKey, usernameFromKey } from '../../edge/credentials';
import { SESSION_KEY_NAME } from '../../edge/session-key';
import { CliError, EXIT } from '../cli-error';

/** One user as `comfyctl users ls` shows it; `credential` is undefined when its value is not one comfyctl wrote. */
export interface StoredUser {
  readonly name: string;
  readonly credential?: StoredCredential;
}

/** What to do with one user's entry, decided from its current value (undefined: no such user). */
export type UserChange = { readonly put: string } | { readonly delete: true };

/** What to do with the session key, decided from its current value (undefined: none); undefined leaves it. */
export type SessionKeyChange = { readonly put: string } | undefined;

/**
 * The users KeyValueStore seen as users and the edge's session signing key. Every write names the store's
 * current ETag (IfMatch), so two admins changing users at once cannot overwrite each other blindly: on a
 * conflict the change is decided again from fresh values and retried once.
 */
export class UsersStore {
  constructor(
    private readonly client: CloudFrontKeyValueStoreClient,
    private readonly storeArn: string,
  ) {}

  /** Every user, sorted by name. */
  async list(): Promise<StoredUser[]> {
    const users: StoredUser[] = [];
    await this.explainAccessDenied(async () => {
      for await (const page of paginateListKeys({ client: this.client }, { KvsARN: this.storeArn })) {
        for (const item of page.Items ?? []) {
          const name = usernameFromKey(item.Key ?? '');
          if (name) users.push({ name, credential: parseStoredCredential(item.Value ?? '') });
        }
      }
    });
    return users.sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Reads the user's current value, lets `decide` choose the change (or throw a CliError), and writes it
   * against the ETag read before. Retries once from the start when another write got in between.
   */
  async change(name: string, decide: (current: string | undefined) => UserChange): Promise<void> {
    await this.changeKey(userKey(name), `'${name}'`, decide);
  }

  /**
   * The session signing key's stored value; undefined when the store has none. Callers have reached the store
   * before (`list`) or write through `changeSessionKey` next, which tells a missing store from a missing key.
   */
  async sessionKey(): Promise<string | undefined> {
    try {
      return await this.explainAccessDenied(() => this.value(SESSION_KEY_NAME));
    } catch (error) {
      throw this.explainUnreachable(error);
    }
  }

  /** Like `change`, for the session signing key: `decide` may also leave it as it is. */
  async changeSessionKey(decide: (current: string | undefined) => SessionKeyChange): Promise<void> {
    await this.changeKey(SESSION_KEY_NAME, 'the session key', decide);
  }

  private async changeKey(
    key: string,
    what: string,
    decide: (current: string | undefined) => UserChange | SessionKeyChange,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.explainAccessDenied(() => this.changeOnce(key, decide));
      } catch (error) {
        if (!(error instanceof ConflictException)) throw error;
        if (attempt === 2) {
          throw new CliError(`the users store kept changing while updating ${what}; run the command again`, EXIT.failure);
        }
      }
    }
  }

  /** Turns AccessDenied into a message naming the permissions the caller's AWS identity lacks. */
  private async explainAccessDenied<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof AccessDeniedException)) throw error;
      throw new CliError(
        `access denied to ${this.storeArn}: your AWS identity needs cloudfront-keyvaluestore:DescribeKeyValueStore, ` +
          'GetKey, ListKeys, PutKey and DeleteKey on it',
        EXIT.unauthorized,
      );
    }
  }

  private async changeOnce(Key: string, decide: (current: string | undefined) => UserChange | SessionKeyChange): Promise<void> {
    const etag = await this.currentEtag();
    const change = decide(await this.value(Key));
    if (change === undefined) return;
    if ('put' in change) {
      await this.client.send(new PutKeyCommand({ KvsARN: this.storeArn, Key, Value: change.put, IfMatch: etag }));
    } else {
      await this.client.send(new DeleteKeyCommand({ KvsARN: this.storeArn, Key, IfMatch: etag }));
    }
  }

  private async currentEtag(): Promise<string> {
    try {
      const store = await this.client.send(new DescribeKeyValueStoreCommand({ KvsARN: this.storeArn }));
      if (!store.ETag) throw new CliError(`the users store ${this.storeArn} returned no ETag`, EXIT.failure);
      return store.ETag;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) {
        throw new CliError(
          `no users store ${this.storeArn}: deploy the CloudFrontEntry stack with edgeAuth on, or pass --store-arn`,
          EXIT.usage,
        );
      }
      throw this.explainUnreachable(error);
    }
  }

  /** A request that never got an answer (network, DNS, an endpoint the SDK cannot address) becomes a CliError saying so. */
  private explainUnreachable(error: unknown): unknown {
    if (error instanceof CliError || error instanceof CloudFrontKeyValueStoreServiceException) return error;
    return new CliError(
      `cannot reach the KeyValueStore API for ${this.storeArn}: ${(error as Error).message}; check the network, --region and --endpoint-url`,
      EXIT.unreachable,
    );
  }

  private async value(Key: string): Promise<string | undefined> {
    try {
      const item = await this.client.send(new GetKeyCommand({ KvsARN: this.storeArn, Key }));
      return item.Value;
    } catch (error) {
      // Not-found means no such key: `change` has just read the store's ETag, and `sessionKey` callers check the store.
      if (error instanceof ResourceNotFoundException) return undefined;
      throw error;
    }
  }
}
