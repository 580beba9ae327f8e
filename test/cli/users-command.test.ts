import * as path from 'node:path';
import {
  AccessDeniedException,
  CloudFrontKeyValueStoreClient,
  ConflictException,
  DeleteKeyCommand,
  DescribeKeyValueStoreCommand,
  GetKeyCommand,
  ListKeysCommand,
  PutKeyCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { runComfyctl } from '../../lib/cli/program';
import { EXIT } from '../../lib/cli/cli-error';
import { hashSecret, issueCredential, parseStoredCredential, userKey } from '../../lib/edge/credentials';
import { issueSessionKey, parseSessionKey, SESSION_KEY_NAME } from '../../lib/edge/session-key';

/** test/fixtures/cdk-outputs.json names this store and https://d111111abcdef8.cloudfront.net. */
const OUTPUTS = path.join(__dirname, '..', 'fixtures', 'cdk-outputs.json');
const STORE = 'arn:aws:cloudfront::210987654321:key-value-store/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111';

const kvs = mockClient(CloudFrontKeyValueStoreClient);
let stdout: string[];
let stderr: string[];
let bobValue: string;
let sessionKeyValue: string;

const notFound = () => new ResourceNotFoundException({ message: 'Key not found', $metadata: {} });
const conflict = () => new ConflictException({ message: 'ETag mismatch', $metadata: {} });

function users(...args: string[]): Promise<number> {
  return runComfyctl(['node', 'comfyctl', 'users', ...args, '--outputs', OUTPUTS]);
}

/** Values written by PutKey, by key. */
function puts(): Record<string, { Value: string; IfMatch: string }> {
  return Object.fromEntries(
    kvs.commandCalls(PutKeyCommand).map((call) => [call.args[0].input.Key!, { Value: call.args[0].input.Value!, IfMatch: call.args[0].input.IfMatch! }]),
  );
}

/** True when `token` is the secret behind the stored value (the edge's check, via the shared hash). */
function tokenMatches(token: string, storedValue: string): boolean {
  const credential = parseStoredCredential(storedValue)!;
  return hashSecret(credential.salt, token.slice(token.indexOf('.') + 1)) === credential.hash;
}

beforeEach(() => {
  // Prepare: an existing store at ETag e1 holding one user, bob.
  kvs.reset();
  kvs.on(DescribeKeyValueStoreCommand).resolves({ ETag: 'e1', KvsARN: STORE, ItemCount: 1, TotalSizeInBytes: 100, Created: new Date() });
  kvs.on(GetKeyCommand).rejects(notFound());
  bobValue = issueCredential('bob', new Date('2026-01-02T03:04:05Z')).storedValue;
  kvs.on(GetKeyCommand, { Key: userKey('bob') }).resolves({ Key: userKey('bob'), Value: bobValue });
  // ... and the key that signs browser sessions, as every store has once comfyctl added a user.
  sessionKeyValue = issueSessionKey(new Date('2026-01-01T00:00:00Z'));
  kvs.on(GetKeyCommand, { Key: SESSION_KEY_NAME }).resolves({ Key: SESSION_KEY_NAME, Value: sessionKeyValue });
  kvs.on(PutKeyCommand).resolves({ ETag: 'e2', ItemCount: 2, TotalSizeInBytes: 200 });
  kvs.on(DeleteKeyCommand).resolves({ ETag: 'e2', ItemCount: 0, TotalSizeInBytes: 0 });
  stdout = [];
  stderr = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => stdout.push(String(chunk)) > 0);
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => stderr.push(String(chunk)) > 0);
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('comfyctl users add', () => {
  test('prints the token once on stdout and stores only its salted hash, written against the store ETag', async () => {
    expect(await users('add', 'alice')).toBe(0);
    expect(stdout).toHaveLength(1);
    const token = stdout[0].trim();
    expect(token).toMatch(/^alice\.[A-Za-z0-9_-]{43}$/);
    const written = puts()[userKey('alice')];
    expect(written.IfMatch).toBe('e1');
    expect(written.Value).not.toContain(token.split('.')[1]);
    expect(tokenMatches(token, written.Value)).toBe(true);
    expect(kvs.commandCalls(PutKeyCommand)[0].args[0].input.KvsARN).toBe(STORE);
  });

  test('tells on stderr how browsers and API clients use the token', async () => {
    await users('add', 'alice');
    const hint = stderr.join('');
    expect(hint.trim().split('\n')).toHaveLength(1);
    expect(hint).toContain('https://d111111abcdef8.cloudfront.net');
    expect(hint).toContain("user 'alice'");
    expect(hint).toContain('Authorization: Bearer <token>');
    expect(hint).not.toContain(stdout[0].trim());
  });

  test('refuses an existing user, pointing at rotate, and writes nothing', async () => {
    expect(await users('add', 'bob')).toBe(EXIT.usage);
    expect(stderr.join('')).toContain("user 'bob' already exists: 'comfyctl users rotate bob'");
    expect(kvs.commandCalls(PutKeyCommand)).toHaveLength(0);
    expect(stdout).toEqual([]);
  });

  test.each(['Alice', '_x', 'a.b', 'x'.repeat(33)])('refuses the user name %j before calling AWS', async (name) => {
    expect(await users('add', name)).toBe(EXIT.usage);
    expect(stderr.join('')).toContain(`user name '${name}' must be`);
    expect(kvs.calls()).toHaveLength(0);
  });

  test('decides again on fresh values and retries once when another write changed the store', async () => {
    kvs.on(DescribeKeyValueStoreCommand).resolvesOnce({ ETag: 'e1' }).resolves({ ETag: 'e7' });
    kvs.on(PutKeyCommand).rejectsOnce(conflict()).resolves({ ETag: 'e8' });
    expect(await users('add', 'alice')).toBe(0);
    expect(kvs.commandCalls(PutKeyCommand).map((c) => c.args[0].input.IfMatch)).toEqual(['e1', 'e7']);
    expect(kvs.commandCalls(GetKeyCommand, { Key: userKey('alice') })).toHaveLength(2);
    expect(tokenMatches(stdout[0].trim(), puts()[userKey('alice')].Value)).toBe(true);
  });

  test('gives up after a second conflict, printing no token', async () => {
    kvs.on(PutKeyCommand).rejects(conflict());
    expect(await users('add', 'alice')).toBe(EXIT.failure);
    expect(stderr.join('')).toContain("kept changing while updating 'alice'");
    expect(stdout).toEqual([]);
  });

  test("reads the store ARN from the outputs file, or says which option replaces it", async () => {
    expect(await runComfyctl(['node', 'comfyctl', 'users', 'add', 'alice', '--outputs', '/nonexistent/cdk-outputs.json'])).toBe(EXIT.usage);
    expect(stderr.join('')).toContain('pass --store-arn');
    expect(await users('add', 'alice', '--store-arn', 'arn:aws:s3:::bucket')).toBe(EXIT.usage);
    expect(stderr.join('')).toContain("--store-arn must be a CloudFront KeyValueStore ARN");
    expect(kvs.calls()).toHaveLength(0);
  });
});

describe('comfyctl users rotate', () => {
  test('replaces the hash (the old token no longer matches), keeps the creation time and records the rotation', async () => {
    expect(await users('rotate', 'bob')).toBe(0);
    const token = stdout[0].trim();
    const after = puts()[userKey('bob')];
    expect(after.IfMatch).toBe('e1');
    expect(tokenMatches(token, after.Value)).toBe(true);
    expect(after.Value).not.toBe(bobValue);
    expect(tokenMatches(token, bobValue)).toBe(false);
    const stored = parseStoredCredential(after.Value)!;
    expect(stored.createdAt.toISOString()).toBe('2026-01-02T03:04:05.000Z');
    expect(stored.rotatedAt).toBeDefined();
  });

  test('refuses an unknown user, naming it', async () => {
    expect(await users('rotate', 'carol')).toBe(EXIT.usage);
    expect(stderr.join('')).toContain("no user 'carol'");
    expect(kvs.commandCalls(PutKeyCommand)).toHaveLength(0);
  });
});

describe('comfyctl users rm', () => {
  test('deletes the user against the store ETag', async () => {
    expect(await users('rm', 'bob')).toBe(0);
    expect(kvs.commandCalls(DeleteKeyCommand).map((c) => c.args[0].input)).toEqual([{ KvsARN: STORE, Key: userKey('bob'), IfMatch: 'e1' }]);
    expect(stdout.join('')).toContain("removed user 'bob'");
  });

  test('refuses an unknown user, naming it', async () => {
    expect(await users('rm', 'carol')).toBe(EXIT.usage);
    expect(stderr.join('')).toContain("no user 'carol'");
    expect(kvs.commandCalls(DeleteKeyCommand)).toHaveLength(0);
  });
});

describe('comfyctl users ls', () => {
  test('lists every user over all pages, sorted, with times and never a hash', async () => {
    const alice = issueCredential('alice', new Date('2026-01-01T00:00:00Z'));
    const zed = issueCredential('zed', new Date('2026-01-03T00:00:00Z'), parseStoredCredential(alice.storedValue));
    kvs.on(ListKeysCommand).resolvesOnce({ Items: [{ Key: userKey('zed'), Value: zed.storedValue }], NextToken: 'p2' }).resolves({
      Items: [
        { Key: userKey('alice'), Value: alice.storedValue },
        { Key: 'not-a-user', Value: 'x' },
        { Key: userKey('legacy'), Value: 'plain-password' },
      ],
    });
    expect(await users('ls')).toBe(0);
    const lines = stdout.join('').trim().split('\n');
    expect(lines.map((l) => l.split(/\s+/)[0])).toEqual(['alice', 'legacy', 'zed']);
    expect(lines[0]).toMatch(/created 2026-01-01T00:00:00Z\s+rotated -$/);
    expect(lines[1]).toContain('not written by comfyctl');
    expect(lines[2]).toMatch(/created 2026-01-01T00:00:00Z\s+rotated 2026-01-03T00:00:00Z$/);
    expect(stdout.join('')).not.toContain(parseStoredCredential(alice.storedValue)!.hash);
    // Two pages: the paginator asked again with the first page's NextToken.
    expect(kvs.commandCalls(ListKeysCommand)).toHaveLength(2);
    expect(kvs.commandCalls(ListKeysCommand)[1].args[0].input.NextToken).toBe('p2');
  });

  test('says how to add the first user when there is none', async () => {
    kvs.on(ListKeysCommand).resolves({ Items: [] });
    expect(await users('ls')).toBe(0);
    expect(stderr.join('')).toContain("comfyctl users add <name>");
  });
});

describe('the session signing key', () => {
  const noSessionKey = () => kvs.on(GetKeyCommand, { Key: SESSION_KEY_NAME }).rejects(notFound());
  const sessionKeyPuts = () => kvs.commandCalls(PutKeyCommand).filter((c) => c.args[0].input.Key === SESSION_KEY_NAME);

  test.each([['add', 'alice'], ['rotate', 'bob']])(
    'users %s creates it when the store has none, before the user, with 32 random bytes against the store ETag',
    async (command, name) => {
      noSessionKey();
      expect(await users(command, name)).toBe(0);
      const written = kvs.commandCalls(PutKeyCommand).map((c) => c.args[0].input);
      expect(written.map((w) => w.Key)).toEqual([SESSION_KEY_NAME, userKey(name)]);
      expect(written[0].IfMatch).toBe('e1');
      const key = parseSessionKey(written[0].Value!)!;
      expect(Buffer.from(key.key, 'base64url')).toHaveLength(32);
      expect(key.createdAt).toBeDefined();
      expect(stderr.join('')).toContain(`created the session signing key (${SESSION_KEY_NAME})`);
      // stdout still holds the token alone.
      expect(stdout).toHaveLength(1);
      expect(stdout[0]).toMatch(new RegExp(`^${name}\\.[A-Za-z0-9_-]{43}\n$`));
    },
  );

  test('users add leaves a usable key alone and replaces an unusable one', async () => {
    expect(await users('add', 'alice')).toBe(0);
    expect(sessionKeyPuts()).toHaveLength(0);
    expect(stderr.join('')).not.toContain('created the session signing key');
    kvs.on(GetKeyCommand, { Key: SESSION_KEY_NAME }).resolves({ Key: SESSION_KEY_NAME, Value: 'v1$short' });
    expect(await users('add', 'carol')).toBe(0);
    expect(sessionKeyPuts()).toHaveLength(1);
    expect(parseSessionKey(sessionKeyPuts()[0].args[0].input.Value!)).toBeDefined();
  });

  test('a store that cannot be reached while reading the key is reported as unreachable, and no token is printed', async () => {
    kvs.on(GetKeyCommand, { Key: SESSION_KEY_NAME }).rejects(new Error('connect ECONNREFUSED 127.0.0.1:9'));
    expect(await users('add', 'alice')).toBe(EXIT.unreachable);
    expect(stderr.join('')).toContain(`cannot reach the KeyValueStore API for ${STORE}: connect ECONNREFUSED`);
    expect(stdout).toEqual([]);
    expect(kvs.commandCalls(PutKeyCommand)).toHaveLength(0);
  });

  test('users rotate-session-key replaces it against the store ETag, ending every session, and leaves the users alone', async () => {
    expect(await users('rotate-session-key')).toBe(0);
    const written = kvs.commandCalls(PutKeyCommand).map((c) => c.args[0].input);
    expect(written.map((w) => [w.Key, w.IfMatch])).toEqual([[SESSION_KEY_NAME, 'e1']]);
    const key = parseSessionKey(written[0].Value!)!;
    expect(key.key).not.toBe(parseSessionKey(sessionKeyValue)!.key);
    expect(Buffer.from(key.key, 'base64url')).toHaveLength(32);
    expect(stdout.join('')).toContain('every browser session has ended');
    expect(kvs.commandCalls(DeleteKeyCommand)).toHaveLength(0);
  });

  test('users rotate-session-key creates the key in a store that has none', async () => {
    noSessionKey();
    expect(await users('rotate-session-key')).toBe(0);
    expect(sessionKeyPuts()).toHaveLength(1);
  });

  test('users ls says on stderr when the key was made, or warns that it is missing and names the command that creates it', async () => {
    kvs.on(ListKeysCommand).resolves({ Items: [{ Key: userKey('bob'), Value: bobValue }, { Key: SESSION_KEY_NAME, Value: sessionKeyValue }] });
    expect(await users('ls')).toBe(0);
    // The key is not a user, and never printed.
    expect(stdout.join('').trim().split('\n').map((l) => l.split(/\s+/)[0])).toEqual(['bob']);
    expect(stderr.join('')).toContain(`session signing key (${SESSION_KEY_NAME}): created 2026-01-01T00:00:00Z`);
    expect(stdout.join('') + stderr.join('')).not.toContain(parseSessionKey(sessionKeyValue)!.key);

    stderr = [];
    noSessionKey();
    expect(await users('ls')).toBe(0);
    expect(stderr.join('')).toContain(`warning: the store has no session signing key (${SESSION_KEY_NAME})`);
    expect(stderr.join('')).toContain("'comfyctl users rotate-session-key' creates one");
  });

  test.each(['add', 'rotate', 'rm'])('users %s refuses the reserved name of the key as a user name, before calling AWS', async (command) => {
    expect(await users(command, SESSION_KEY_NAME)).toBe(EXIT.usage);
    expect(stderr.join('')).toContain(`'${SESSION_KEY_NAME}' is not a user but the store's session signing key, a reserved name`);
    expect(kvs.calls()).toHaveLength(0);
  });
});

describe('AWS errors become messages a user can act on', () => {
  test('access denied names the permissions the caller needs', async () => {
    kvs.on(DescribeKeyValueStoreCommand).rejects(new AccessDeniedException({ message: 'not allowed', $metadata: {} }));
    kvs.on(ListKeysCommand).rejects(new AccessDeniedException({ message: 'not allowed', $metadata: {} }));
    for (const args of [['add', 'alice'], ['ls']]) {
      stderr = [];
      expect(await users(...args), args[0]).toBe(EXIT.unauthorized);
      expect(stderr.join('')).toContain(`access denied to ${STORE}: your AWS identity needs cloudfront-keyvaluestore:DescribeKeyValueStore`);
    }
  });

  test('a request that gets no answer is reported as unreachable, with what to check', async () => {
    kvs.on(DescribeKeyValueStoreCommand).rejects(new Error('getaddrinfo ENOTFOUND cloudfront-keyvaluestore.example'));
    expect(await users('add', 'alice')).toBe(EXIT.unreachable);
    expect(stderr.join('')).toContain(`cannot reach the KeyValueStore API for ${STORE}: getaddrinfo ENOTFOUND`);
  });

  test('a store that does not exist says how to get one', async () => {
    kvs.on(DescribeKeyValueStoreCommand).rejects(new ResourceNotFoundException({ message: 'no such store', $metadata: {} }));
    expect(await users('rm', 'bob')).toBe(EXIT.usage);
    expect(stderr.join('')).toContain(`no users store ${STORE}: deploy the CloudFrontEntry stack with edgeAuth on, or pass --store-arn`);
  });
});
