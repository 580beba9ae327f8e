import { describe, expect, test } from 'vitest';
import { userKey, usernameFromKey, usernameProblem } from '../../lib/edge/credentials';
import { issueSessionKey, parseSessionKey, SESSION_KEY_NAME } from '../../lib/edge/session-key';
import { readViewerAuthSource } from '../../lib/edge/viewer-auth-source';

/** Deterministic "random" bytes: 0, 1, 2, ... so the key is known in advance. */
const counting = (size: number) => Buffer.from(Array.from({ length: size }, (_, i) => i));
const at = new Date('2026-02-03T04:05:06.789Z');

describe('issueSessionKey', () => {
  test('stores `v1$<32 random bytes, base64url>$<created>`', () => {
    expect(issueSessionKey(at, counting)).toBe(`v1$${counting(32).toString('base64url')}$2026-02-03T04:05:06Z`);
  });

  test('two keys differ', () => {
    expect(parseSessionKey(issueSessionKey(at))!.key).not.toBe(parseSessionKey(issueSessionKey(at))!.key);
  });
});

describe('parseSessionKey reads what the edge can use, and nothing else', () => {
  test('round-trips a fresh key with its creation time', () => {
    expect(parseSessionKey(issueSessionKey(at, counting))).toEqual({
      key: counting(32).toString('base64url'),
      createdAt: new Date('2026-02-03T04:05:06Z'),
    });
  });

  test('a key without a creation time is still usable (the edge reads only the key)', () => {
    expect(parseSessionKey(`v1$${'A'.repeat(43)}`)).toEqual({ key: 'A'.repeat(43) });
  });

  test.each([
    ['another format version', `v2$${'A'.repeat(43)}$2026-01-01T00:00:00Z`],
    ['a short key', 'v1$abc$2026-01-01T00:00:00Z'],
    ['a key outside base64url', `v1$${'+'.repeat(43)}$2026-01-01T00:00:00Z`],
    ['nothing', ''],
  ])('refuses %s', (_name, value) => {
    expect(parseSessionKey(value)).toBeUndefined();
  });
});

describe('the key name is reserved: no user can take it', () => {
  test('it is not a user name, and no user name maps to it', () => {
    expect(usernameProblem(SESSION_KEY_NAME)).toBeDefined();
    expect(usernameFromKey(SESSION_KEY_NAME)).toBeUndefined();
    // User keys all start with `user:`; the session key does not.
    expect(SESSION_KEY_NAME.startsWith(userKey(''))).toBe(false);
  });

  test('the edge function reads the key under the same name', () => {
    expect(readViewerAuthSource()).toContain(`const SESSION_KEY = '${SESSION_KEY_NAME}';`);
  });
});
