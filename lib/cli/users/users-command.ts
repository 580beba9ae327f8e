import { CloudFrontKeyValueStoreClient } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { Command } from 'commander';
import { isoSeconds, issueCredential, parseStoredCredential, StoredCredential, usernameProblem } from '../../edge/credentials';
import { issueSessionKey, parseSessionKey, SESSION_KEY_NAME } from '../../edge/session-key';
import { OUTPUT_KEYS, STACK_NAMES } from '../../names';
import { AwsOptions, awsClientConfig, withAwsOptions } from '../aws-options';
import { CliError, EXIT } from '../cli-error';
import { deployOutput, optionalDeployOutput } from '../deploy-outputs';
import { UsersStore } from './users-store';

interface UsersOptions extends AwsOptions {
  readonly storeArn?: string;
}

/** A CloudFront KeyValueStore ARN (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudfront.html). */
const STORE_ARN_PATTERN = /^arn:aws[a-z-]*:cloudfront::\d{12}:key-value-store\/[A-Za-z0-9-]+$/;

/**
 * `comfyctl users add|rotate|rm|ls|rotate-session-key`: who may use ComfyUI through CloudFront. Users live in the
 * edge's KeyValueStore as salted hashes; a token is printed once, on stdout alone, so `TOKEN=$(comfyctl users add x)`
 * works, and the how-to-use hint goes to stderr. The same store holds the key that signs browser sessions
 * (lib/edge/session-key.ts): `add` and `rotate` create it when missing, before writing the user, so a failure
 * never loses a token. Changes reach every edge location in seconds, no deploy.
 */
export function registerUsersCommands(program: Command): void {
  const users = program
    .command('users')
    .description('manage who may use ComfyUI through CloudFront (changes apply in seconds, no redeploy)');

  withUsersOptions(users.command('add').argument('<name>', 'user name: 1-32 of a-z, 0-9, _ and -'))
    .description('create a user and print its token (shown only this once)')
    .action(async (name: string, options: UsersOptions) => {
      checkUsername(name);
      const issued = issueCredential(name, new Date());
      const store = openStore(options);
      await createSessionKeyIfMissing(store);
      await store.change(name, (current) => {
        if (current !== undefined) {
          throw new CliError(`user '${name}' already exists: 'comfyctl users rotate ${name}' issues a new token`, EXIT.usage);
        }
        return { put: issued.storedValue };
      });
      printToken(name, issued.token, options);
    });

  withUsersOptions(users.command('rotate').argument('<name>', 'an existing user'))
    .description("replace a user's token; the old one and their browser sessions stop working within seconds")
    .action(async (name: string, options: UsersOptions) => {
      checkUsername(name);
      let token = '';
      const store = openStore(options);
      await createSessionKeyIfMissing(store);
      await store.change(name, (current) => {
        if (current === undefined) throw unknownUser(name);
        const issued = issueCredential(name, new Date(), parseStoredCredential(current));
        token = issued.token;
        return { put: issued.storedValue };
      });
      printToken(name, token, options);
    });

  withUsersOptions(users.command('rm').argument('<name>', 'an existing user'))
    .description('remove a user; their token and browser sessions stop working within seconds')
    .action(async (name: string, options: UsersOptions) => {
      checkUsername(name);
      await openStore(options).change(name, (current) => {
        if (current === undefined) throw unknownUser(name);
        return { delete: true };
      });
      process.stdout.write(`removed user '${name}'\n`);
    });

  withUsersOptions(users.command('ls'))
    .description('list users with their creation and last rotation times (never a token)')
    .action(async (options: UsersOptions) => {
      const store = openStore(options);
      const list = await store.list();
      if (list.length === 0) process.stderr.write("no users yet: add one with 'comfyctl users add <name>'\n");
      for (const user of list) process.stdout.write(`${formatUserLine(user.name, user.credential)}\n`);
      process.stderr.write(`${describeSessionKey(await store.sessionKey())}\n`);
    });

  withUsersOptions(users.command('rotate-session-key'))
    .description('replace the key that signs browser sessions: every browser signs in again (tokens stay valid)')
    .action(async (options: UsersOptions) => {
      await openStore(options).changeSessionKey(() => ({ put: issueSessionKey(new Date()) }));
      process.stdout.write(
        'rotated the session signing key: every browser session has ended; browsers sign in again with their token, which is unchanged\n',
      );
    });
}

/** Writes the session signing key when the store has no usable one, and says so on stderr. */
async function createSessionKeyIfMissing(store: UsersStore): Promise<void> {
  const stored = await store.sessionKey();
  if (stored !== undefined && parseSessionKey(stored)) return;
  let created = false;
  await store.changeSessionKey((current) => {
    created = current === undefined || parseSessionKey(current) === undefined;
    return created ? { put: issueSessionKey(new Date()) } : undefined;
  });
  if (created) process.stderr.write(`created the session signing key (${SESSION_KEY_NAME}): browsers now get signed sessions\n`);
}

/** What `users ls` says of the session key: when it was made, or that browsers get no session and the fix. */
function describeSessionKey(value: string | undefined): string {
  const key = value === undefined ? undefined : parseSessionKey(value);
  if (key) return `session signing key (${SESSION_KEY_NAME}): created ${key.createdAt ? isoSeconds(key.createdAt) : 'at an unknown time'}`;
  return (
    `warning: the store has ${value === undefined ? 'no' : 'no usable'} session signing key (${SESSION_KEY_NAME}), so the edge ` +
    "gives browsers no session cookie and the UI's WebSocket may fail; 'comfyctl users rotate-session-key' creates one"
  );
}

/** `alice  created 2026-01-05T09:00:00Z  rotated -`: one line per user, aligned for a terminal. */
function formatUserLine(name: string, credential: StoredCredential | undefined): string {
  if (!credential) return `${name.padEnd(32)}  (value not written by comfyctl: the edge refuses it)`;
  const rotated = credential.rotatedAt ? isoSeconds(credential.rotatedAt) : '-';
  return `${name.padEnd(32)}  created ${isoSeconds(credential.createdAt)}  rotated ${rotated}`;
}

function withUsersOptions(command: Command): Command {
  return withAwsOptions(command).option(
    '--store-arn <arn>',
    `users KeyValueStore (default: ${STACK_NAMES.cloudFrontEntry}.${OUTPUT_KEYS.edgeUsersStoreArn} from --outputs)`,
  );
}

function checkUsername(name: string): void {
  if (name === SESSION_KEY_NAME) {
    throw new CliError(
      `'${name}' is not a user but the store's session signing key, a reserved name; 'comfyctl users rotate-session-key' replaces it`,
      EXIT.usage,
    );
  }
  const problem = usernameProblem(name);
  if (problem) throw new CliError(problem, EXIT.usage);
}

function unknownUser(name: string): CliError {
  return new CliError(`no user '${name}': 'comfyctl users ls' lists them, 'comfyctl users add ${name}' creates it`, EXIT.usage);
}

function openStore(options: UsersOptions): UsersStore {
  const storeArn =
    options.storeArn ?? deployOutput(options.outputs, STACK_NAMES.cloudFrontEntry, OUTPUT_KEYS.edgeUsersStoreArn, '--store-arn');
  if (!STORE_ARN_PATTERN.test(storeArn)) {
    throw new CliError(`--store-arn must be a CloudFront KeyValueStore ARN (arn:aws:cloudfront::<account>:key-value-store/<id>), got '${storeArn}'`, EXIT.usage);
  }
  const { region, endpoint } = awsClientConfig(options);
  // SigV4A signs for every region; the client still wants one to load its configuration.
  const client = new CloudFrontKeyValueStoreClient({ region: region ?? 'us-east-1', endpoint });
  return new UsersStore(client, storeArn);
}

function printToken(name: string, token: string, options: UsersOptions): void {
  const url = optionalDeployOutput(options.outputs, STACK_NAMES.cloudFrontEntry, OUTPUT_KEYS.cloudFrontUrl) ?? 'the CloudFront URL';
  process.stdout.write(`${token}\n`);
  process.stderr.write(
    `Shown once. Browser: open ${url}, user '${name}', password = the token. ` +
      "API: header 'Authorization: Bearer <token>' (comfyctl: --token or COMFYUI_TOKEN).\n",
  );
}
