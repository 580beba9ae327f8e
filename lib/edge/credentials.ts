import { createHash, randomBytes } from 'node:crypto';

/**
 * User tokens and the salted hashes the edge checks them against. `comfyctl users` writes with this module;
 * the CloudFront Function (lib/edge/viewer-auth.js) re-implements only the verify side, because it cannot
 * import, and a test proves a credential made here verifies there.
 *
 * A token is `<username>.<secret>`, the secret 32 random bytes in base64url. The store holds, under
 * `user:<username>`, `v1$<salt>$<sha256(salt + secret) hex>$<created>$<rotated>`. A fast hash is right here:
 * the secret is 256 random bits, so a leaked hash cannot be brute-forced however fast the hash (slow KDFs exist
 * for guessable passwords), and a CloudFront Function has about a millisecond of compute and no KDF. The salt
 * keeps two stores' hashes of one secret apart.
 */

/** What a user name may be: short, lowercase, safe in a KVS key, a Basic user name and a cookie. */
export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/** Format version written first in every stored value, so a later format can coexist. */
export const CREDENTIAL_FORMAT = 'v1';

const SECRET_BYTES = 32;
const SALT_BYTES = 16;
const KEY_PREFIX = 'user:';
const SALT_PATTERN = /^[A-Za-z0-9_-]{22}$/;
const HASH_PATTERN = /^[0-9a-f]{64}$/;

/** What the store holds for one user (the hash never leaves the store except to the edge). */
export interface StoredCredential {
  readonly salt: string;
  readonly hash: string;
  readonly createdAt: Date;
  /** When the token was last replaced; undefined until the first rotation. */
  readonly rotatedAt?: Date;
}

/** A fresh token and the value to store for it. */
export interface IssuedCredential {
  /** Shown to the user once; never stored. */
  readonly token: string;
  readonly storedValue: string;
}

/** Source of random bytes; tests pass a fixed one. */
export type RandomSource = (size: number) => Buffer;

/** Why `name` is not a user name, or undefined when it is one. */
export function usernameProblem(name: string): string | undefined {
  if (USERNAME_PATTERN.test(name)) return undefined;
  return `user name '${name}' must be 1-32 characters of a-z, 0-9, '_' or '-', starting with a letter or digit`;
}

/** The KeyValueStore key of a user. */
export function userKey(username: string): string {
  return `${KEY_PREFIX}${username}`;
}

/** The user name a store key belongs to, or undefined for a key this module did not write. */
export function usernameFromKey(key: string): string | undefined {
  if (!key.startsWith(KEY_PREFIX)) return undefined;
  const name = key.slice(KEY_PREFIX.length);
  return USERNAME_PATTERN.test(name) ? name : undefined;
}

/** The hex digest the store keeps for a secret and its salt (both base64url text). */
export function hashSecret(salt: string, secret: string): string {
  return createHash('sha256').update(salt + secret).digest('hex');
}

/**
 * Issues a new token for `username`. `previous` is the user's stored credential when rotating: its creation
 * time is kept and the rotation time set to `now`.
 */
export function issueCredential(
  username: string,
  now: Date,
  previous?: StoredCredential,
  random: RandomSource = randomBytes,
): IssuedCredential {
  const problem = usernameProblem(username);
  if (problem) throw new Error(problem);
  const secret = random(SECRET_BYTES).toString('base64url');
  const salt = random(SALT_BYTES).toString('base64url');
  const stored: StoredCredential = previous
    ? { salt, hash: hashSecret(salt, secret), createdAt: previous.createdAt, rotatedAt: now }
    : { salt, hash: hashSecret(salt, secret), createdAt: now };
  return { token: `${username}.${secret}`, storedValue: formatStoredCredential(stored) };
}

/** The store value of a credential: `v1$salt$hash$created$rotated` (times in ISO 8601 seconds, rotated may be empty). */
export function formatStoredCredential(credential: StoredCredential): string {
  const rotated = credential.rotatedAt ? isoSeconds(credential.rotatedAt) : '';
  return [CREDENTIAL_FORMAT, credential.salt, credential.hash, isoSeconds(credential.createdAt), rotated].join('$');
}

/** Reads a store value; undefined when it is not a v1 credential (the edge refuses those too). */
export function parseStoredCredential(value: string): StoredCredential | undefined {
  const [format, salt, hash, created, rotated] = value.split('$');
  if (format !== CREDENTIAL_FORMAT || !SALT_PATTERN.test(salt ?? '') || !HASH_PATTERN.test(hash ?? '')) return undefined;
  const createdAt = parseTime(created);
  if (!createdAt) return undefined;
  const rotatedAt = parseTime(rotated);
  return rotatedAt ? { salt, hash, createdAt, rotatedAt } : { salt, hash, createdAt };
}

/** A time as the store and `comfyctl users ls` show it: ISO 8601 to the second. */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function parseTime(text: string | undefined): Date | undefined {
  if (!text) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
