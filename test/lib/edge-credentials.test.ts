import { describe, expect, test } from 'vitest';
import {
  formatStoredCredential,
  hashSecret,
  issueCredential,
  parseStoredCredential,
  userKey,
  usernameFromKey,
  usernameProblem,
} from '../../lib/edge/credentials';

/** Deterministic "random" bytes: 0, 1, 2, ... so tokens and salts are known in advance. */
const counting = (size: number) => Buffer.from(Array.from({ length: size }, (_, i) => i));
const at = new Date('2026-02-03T04:05:06.789Z');

describe('issueCredential', () => {
  test('makes a `<user>.<secret>` token with a 256-bit base64url secret and stores only its salted hash', () => {
    const { token, storedValue } = issueCredential('alice', at, undefined, counting);
    const secret = counting(32).toString('base64url');
    const salt = counting(16).toString('base64url');
    expect(token).toBe(`alice.${secret}`);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(storedValue).toBe(`v1$${salt}$${hashSecret(salt, secret)}$2026-02-03T04:05:06Z$`);
    expect(storedValue).not.toContain(secret);
  });

  test('the hash is sha256 over the salt text followed by the secret text', () => {
    // printf 'saltsecret' | sha256sum
    expect(hashSecret('salt', 'secret')).toBe('bede90386d450cea8b77b822f8887065e4e5abf132c2f9dccfcc7fbd4cba5e35');
  });

  test('two issues for one user differ in secret and salt', () => {
    const first = issueCredential('alice', at);
    const second = issueCredential('alice', at);
    expect(first.token).not.toBe(second.token);
    expect(parseStoredCredential(first.storedValue)!.salt).not.toBe(parseStoredCredential(second.storedValue)!.salt);
  });

  test('a rotation keeps the creation time and records the rotation time', () => {
    const created = parseStoredCredential(issueCredential('alice', at).storedValue)!;
    const later = new Date('2026-03-01T00:00:00Z');
    const rotated = parseStoredCredential(issueCredential('alice', later, created).storedValue)!;
    expect(rotated.createdAt.toISOString()).toBe('2026-02-03T04:05:06.000Z');
    expect(rotated.rotatedAt!.toISOString()).toBe('2026-03-01T00:00:00.000Z');
  });

  test('refuses a user name the edge would refuse', () => {
    expect(() => issueCredential('Alice', at)).toThrow("user name 'Alice' must be 1-32 characters");
  });
});

describe('user names and keys', () => {
  test.each(['a', 'alice', 'bob-2', 'c_d', '0', 'x'.repeat(32)])('%s is a user name', (name) => {
    expect(usernameProblem(name)).toBeUndefined();
    expect(usernameFromKey(userKey(name))).toBe(name);
  });

  test.each(['', 'Alice', '-bob', '_x', 'a.b', 'a b', 'a:b', 'x'.repeat(33), 'é'])('%j is not a user name', (name) => {
    expect(usernameProblem(name)).toContain(`'${name}'`);
  });

  test('keys this module did not write belong to no user', () => {
    expect(usernameFromKey('alice')).toBeUndefined();
    expect(usernameFromKey('config:x')).toBeUndefined();
    expect(usernameFromKey('user:Bad')).toBeUndefined();
  });
});

describe('stored values', () => {
  const credential = { salt: 'A'.repeat(22), hash: 'b'.repeat(64), createdAt: new Date('2026-01-01T00:00:00Z') };

  test('round-trip with and without a rotation time', () => {
    expect(parseStoredCredential(formatStoredCredential(credential))).toEqual(credential);
    const rotated = { ...credential, rotatedAt: new Date('2026-01-02T00:00:00Z') };
    expect(parseStoredCredential(formatStoredCredential(rotated))).toEqual(rotated);
  });

  test.each([
    ['another format version', 'v2$AAAAAAAAAAAAAAAAAAAAAA$' + 'b'.repeat(64) + '$2026-01-01T00:00:00Z$'],
    ['a short salt', 'v1$AAA$' + 'b'.repeat(64) + '$2026-01-01T00:00:00Z$'],
    ['an uppercase hash', 'v1$AAAAAAAAAAAAAAAAAAAAAA$' + 'B'.repeat(64) + '$2026-01-01T00:00:00Z$'],
    ['no creation time', 'v1$AAAAAAAAAAAAAAAAAAAAAA$' + 'b'.repeat(64)],
    ['a bad creation time', 'v1$AAAAAAAAAAAAAAAAAAAAAA$' + 'b'.repeat(64) + '$yesterday$'],
    ['nothing', ''],
  ])('refuse %s', (_name, value) => {
    expect(parseStoredCredential(value)).toBeUndefined();
  });
});
