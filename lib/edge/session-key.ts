import { randomBytes } from 'node:crypto';
import { isoSeconds, RandomSource } from './credentials';

/**
 * The key that signs browser sessions at the edge. The CloudFront Function (lib/edge/viewer-auth.js) answers a
 * browser's Basic sign-in on `/` with a `__Host-comfyui_auth` cookie holding `<user>.<expiry>.<MAC>`, the MAC an
 * HMAC-SHA256 under this key over the user, the expiry (epoch seconds, 12 hours on) and the user's stored hash.
 * So a stolen cookie is not the long-lived token: it dies at its expiry, when the user is rotated or removed (the
 * hash changes), and for everyone when this key is rotated. The edge re-implements the format; the tests sign
 * sessions independently and check the edge accepts exactly theirs.
 *
 * The key lives in the users KeyValueStore beside the users, under `session:key`: user keys are `user:<name>` and
 * no user name holds a ':', so no user can take it. Its value is `v1$<32 random bytes, base64url>$<created>`.
 * `comfyctl users add` and `rotate` create it when it is missing; `comfyctl users rotate-session-key` replaces it.
 */

/** The store key of the session signing key (viewer-auth.js states it too: it cannot import). */
export const SESSION_KEY_NAME = 'session:key';

/** Format version written first in the stored value, like a credential's. */
export const SESSION_KEY_FORMAT = 'v1';

const KEY_BYTES = 32;
const KEY_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** The session key as the store holds it (the key itself is only ever read by the edge and the tests). */
export interface StoredSessionKey {
  readonly key: string;
  /** When this key was made (its last rotation); undefined when the value does not say. */
  readonly createdAt?: Date;
}

/** A fresh session key's store value: `v1$<key>$<created>`. */
export function issueSessionKey(now: Date, random: RandomSource = randomBytes): string {
  return [SESSION_KEY_FORMAT, random(KEY_BYTES).toString('base64url'), isoSeconds(now)].join('$');
}

/** Reads the store value as the edge does; undefined when the edge cannot use it (it then mints and accepts no session). */
export function parseSessionKey(value: string): StoredSessionKey | undefined {
  const [format, key, created] = value.split('$');
  if (format !== SESSION_KEY_FORMAT || !KEY_PATTERN.test(key ?? '')) return undefined;
  const createdAt = new Date(created ?? '');
  return Number.isNaN(createdAt.getTime()) ? { key } : { key, createdAt };
}
