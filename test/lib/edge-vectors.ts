import * as nodeCrypto from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { issueCredential, parseStoredCredential, userKey } from '../../lib/edge/credentials';
import { issueSessionKey, parseSessionKey, SESSION_KEY_NAME } from '../../lib/edge/session-key';
import { WAKE_ORIGIN_IDS } from '../../lib/constructs/edge-distribution';
import { IDENTITY_HEADER, JOBS_API_PREFIX } from '../../lib/jobs/contract';

/** What CloudFront's origin access control needs on a POST or PUT to a Lambda function URL (docs/jobs.md). */
export const PAYLOAD_HASH_HEADER = 'x-amz-content-sha256';

/**
 * The viewer-request function's test vectors, one source for both engines that run lib/edge/viewer-auth.js:
 * node:vm with shims (edge-viewer-auth.test.ts) and njs, the engine CloudFront Functions derive from
 * (edge-viewer-auth.njs.test.ts). A vector is a KeyValueStore state, events given to the handler in order, and
 * the assertions on its answers; events and stores are plain JSON, so they can cross into another process.
 */

/** The function's KeyValueStore: `values` by key; `broken` makes every read fail, as an unreachable store would. */
export interface KvsState {
  values: Record<string, string>;
  broken: boolean;
}

export interface ViewerAuthVector {
  /** The describe block the vector's test goes in. */
  readonly group: string;
  /** The test's name: unique across all vectors. */
  readonly name: string;
  readonly store: KvsState;
  readonly events: readonly unknown[];
  /**
   * Run the function as deployed with autoscaling on: its wake origins filled in (WAKE_ORIGIN_IDS), so it may ask
   * for an origin group. Otherwise the file as it is, autoscaling off.
   */
  readonly wake: boolean;
  /**
   * Asserts on the handler's answers, one per event, in order (the count is checked before), and on the origin
   * groups each event asked for (cf.createRequestOriginGroup's arguments, in call order).
   */
  check(responses: any[], originGroups: any[][]): void;
}

/** What running a vector gives: the answers and, per event, the origin groups asked for. */
export interface VectorRun {
  responses: any[];
  originGroups: any[][];
}

/** Runs one vector's events through the handler and returns its answers, in order. */
export type VectorRunner = (vector: ViewerAuthVector) => Promise<VectorRun>;

/** Declares one test per vector, grouped in describe blocks, each running its vector with `run`. */
export function testViewerAuthVectors(vectors: readonly ViewerAuthVector[], run: VectorRunner): void {
  for (const group of new Set(vectors.map((v) => v.group))) {
    describe(group, () => {
      for (const vector of vectors.filter((v) => v.group === group)) {
        test(vector.name, async () => {
          const { responses, originGroups } = await run(vector);
          expect(responses).toHaveLength(vector.events.length);
          expect(originGroups).toHaveLength(vector.events.length);
          vector.check(responses, originGroups);
        });
      }
    });
  }
}

interface Field {
  value: string;
  multiValue?: { value: string }[];
}

interface Request {
  method: string;
  uri: string;
  querystring: Record<string, { value: string }>;
  headers: Record<string, Field>;
  cookies: Record<string, Field>;
}

function viewerRequest(overrides: Partial<Request> = {}): { request: Request } & Record<string, unknown> {
  return {
    version: '1.0',
    context: { eventType: 'viewer-request', distributionDomainName: 'd111111abcdef8.cloudfront.net' },
    viewer: { ip: '198.51.100.7' },
    request: {
      method: 'GET',
      uri: '/',
      querystring: {},
      cookies: {},
      ...overrides,
      headers: { host: { value: 'd111111abcdef8.cloudfront.net' }, ...overrides.headers },
    },
  };
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const header = (value: string) => ({ value });
const withAuthorization = (value: string) => viewerRequest({ headers: { authorization: header(value) } });
const navigation = { 'sec-fetch-mode': header('navigate') };
const upgrade = { upgrade: header('websocket'), connection: header('Upgrade'), 'sec-websocket-key': header('dGhlIHNhbXBsZSBub25jZQ==') };

const CHALLENGE = 'Basic realm="ComfyUI", charset="UTF-8"';
/** The cookie the function sets and reads; `__Host-` makes the browser refuse it without Secure and Path=/, or with a Domain. */
const COOKIE = '__Host-comfyui_auth';
/** How long a session lasts, in seconds: 12 hours (security review, Low 12). */
const SESSION_SECONDS = 12 * 60 * 60;
const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * A session cookie's value as the tests expect the edge to make and accept it, computed here with Node's crypto,
 * independently of the function: `<user>.<expiry>.<base64url HMAC-SHA256(key, "<user>.<expiry>.<stored hash>")>`,
 * the key the store's session key and the hash the one in the user's stored credential.
 */
export function sessionValue(user: string, expiry: number, storedCredential: string, sessionKeyValue: string): string {
  const { hash } = parseStoredCredential(storedCredential)!;
  const { key } = parseSessionKey(sessionKeyValue)!;
  const mac = nodeCrypto.createHmac('sha256', key).update(`${user}.${expiry}.${hash}`).digest('base64url');
  return `${user}.${expiry}.${mac}`;
}
/** The cookie's name before the `__Host-` prefix: no longer a credential, still never forwarded. */
const OLD_COOKIE = 'comfyui_auth';
/** The distribution's own origin, as a browser writes it in Origin (viewerRequest's Host). */
const SITE = 'https://d111111abcdef8.cloudfront.net';
const sameOriginPage = { 'sec-fetch-site': header('same-origin'), origin: header(SITE) };
const crossSitePage = { 'sec-fetch-site': header('cross-site'), origin: header('https://evil.example') };
/** Endpoints a cross-site page could make a signed-in browser write to (security review, row 1). */
const WRITES: [string, string][] = [
  ['POST', '/prompt'],
  ['POST', '/api/prompt'],
  ['POST', '/upload/image'],
  ['POST', '/userdata/x.json'],
  ['DELETE', '/api/userdata/x.json'],
  ['POST', '/settings'],
  ['POST', '/queue'],
  ['POST', '/interrupt'],
  ['POST', '/free'],
  ['PUT', '/prompt'],
  ['PATCH', '/prompt'],
];

/** Every vector, with a fresh credential for alice (the user every store holds unless a vector says otherwise). */
export function viewerAuthVectors(): ViewerAuthVector[] {
  const issued = issueCredential('alice', new Date('2026-01-05T09:00:00Z'));
  const alice = issued.token;
  const sessionKey = issueSessionKey(new Date('2026-01-05T08:00:00Z'));
  const aliceStore = (values: Record<string, string> = {}): KvsState => ({
    values: { [userKey('alice')]: issued.storedValue, [SESSION_KEY_NAME]: sessionKey, ...values },
    broken: false,
  });

  /** Alice's session, valid for another hour (sessions are minted for 12 hours; any time left is as good). */
  const aliceSession = sessionValue('alice', nowSeconds() + 3600, issued.storedValue, sessionKey);
  const cookie = (value = aliceSession) => ({ [COOKIE]: { value } });
  const withBasic = (headers: Record<string, Field> = {}) => ({ authorization: header(basic('alice', alice)), ...headers });
  /** The same request signed by Basic and by the cookie: the two credentials a browser attaches itself. */
  const browserCredentials = (request: Partial<Request>) => [
    viewerRequest({ ...request, headers: withBasic(request.headers) }),
    viewerRequest({ ...request, cookies: cookie() }),
  ];
  const expectForbidden = (response: any) => {
    expect(response.statusCode).toBe(403);
    expect(response.headers['cache-control'].value).toBe('no-store');
    // No challenge: the credential is valid, a new one would not help, and the browser must not prompt.
    expect(response.headers['www-authenticate']).toBeUndefined();
    expect(JSON.stringify(response)).not.toContain(alice.split('.')[1]);
  };
  const everyForbidden = (responses: any[]) => responses.forEach(expectForbidden);
  const everyForwarded = (responses: any[]) =>
    responses.forEach((forwarded) => {
      expect(forwarded.statusCode).toBeUndefined();
      expect(forwarded.headers.authorization).toBeUndefined();
      expect(forwarded.cookies[COOKIE]).toBeUndefined();
    });

  const expectChallenge = (response: any) => {
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate'].value).toBe(CHALLENGE);
    expect(response.headers['cache-control'].value).toBe('no-store');
    expect(JSON.stringify(response)).not.toContain(alice.split('.')[1]);
  };
  const everyChallenged = (responses: any[]) => responses.forEach(expectChallenge);
  /**
   * A 307 to `/` setting a fresh 12-hour session for alice, signed with `key` over `stored` (her credential at the
   * time): exactly the value sessionValue computes, and never her token.
   */
  const expectNewSession = (response: any, stored = issued.storedValue, key = sessionKey) => {
    expect(response.statusCode).toBe(307);
    expect(response.headers.location.value).toBe('/');
    expect(response.headers['cache-control'].value).toBe('no-store');
    expect(Object.keys(response.cookies)).toEqual([COOKIE]);
    const value: string = response.cookies[COOKIE].value;
    expect(value).toMatch(/^alice\.\d{10}\.[A-Za-z0-9_-]{43}$/);
    expect(value).not.toContain(alice.split('.')[1]);
    const expiry = Number(value.split('.')[1]);
    // Minted during this run: 12 hours from then, which was at most two minutes ago.
    expect(expiry - nowSeconds()).toBeLessThanOrEqual(SESSION_SECONDS);
    expect(expiry - nowSeconds()).toBeGreaterThan(SESSION_SECONDS - 120);
    expect(value).toBe(sessionValue('alice', expiry, stored, key));
    const attributes: string[] = response.cookies[COOKIE].attributes.split('; ');
    // The browser drops the cookie when the session ends.
    expect(attributes).toContain(`Max-Age=${SESSION_SECONDS}`);
  };
  const expectNoSession = (forwarded: any) => {
    expect(forwarded.statusCode).toBeUndefined();
    expect(forwarded.cookies[COOKIE]).toBeUndefined();
    expect(forwarded.headers.authorization).toBeUndefined();
  };

  const vectors: ViewerAuthVector[] = [];
  let group = '';
  const vector = (name: string, events: unknown[], check: (responses: any[]) => void, store = aliceStore()) =>
    vectors.push({ group, name, store, events, wake: false, check });
  /** A vector run with autoscaling on; `check` also sees the origin groups each event asked for. */
  const wakeVector = (name: string, events: unknown[], check: (responses: any[], groups: any[][]) => void, store = aliceStore()) =>
    vectors.push({ group, name, store, events, wake: true, check });

  group = 'requests without a valid credential are answered 401 with a Basic challenge';
  vector('no credential at all', [viewerRequest()], everyChallenged);
  const wrong = `alice.${nodeCrypto.randomBytes(32).toString('base64url')}`;
  vector('a wrong secret for a real user', [withAuthorization(`Bearer ${wrong}`)], everyChallenged);
  vector("another user's name on a valid token", [withAuthorization(basic('bob', alice))], everyChallenged);
  vector(
    'a valid token after its user was removed (the store is read on every request)',
    [withAuthorization(`Bearer ${alice}`)],
    everyChallenged,
    { values: {}, broken: false },
  );
  const rotated = issueCredential('alice', new Date(), parseStoredCredential(issued.storedValue)!);
  vector(
    'the old token after a rotation, while the new one passes',
    [withAuthorization(`Bearer ${alice}`), withAuthorization(`Bearer ${rotated.token}`)],
    ([old, passed]) => {
      expectChallenge(old);
      expect(passed.uri).toBe('/');
    },
    aliceStore({ [userKey('alice')]: rotated.storedValue }),
  );
  vector(
    'an invalid Authorization header even beside a valid cookie: the header decides',
    [viewerRequest({ headers: { authorization: header('Bearer nope') }, cookies: cookie() })],
    everyChallenged,
  );
  vector('a valid token when the store cannot be read', [withAuthorization(`Bearer ${alice}`)], everyChallenged, {
    ...aliceStore(),
    broken: true,
  });

  group = 'a valid credential passes, stripped before the origin';
  vector(
    'Bearer token (API clients): Authorization removed, everything else forwarded',
    [
      viewerRequest({
        method: 'POST',
        uri: '/prompt',
        headers: { authorization: header(`Bearer ${alice}`), 'content-type': header('application/json') },
        cookies: { AWSALB: { value: 'sticky' } },
      }),
    ],
    ([forwarded]) => {
      expect(forwarded.uri).toBe('/prompt');
      expect(forwarded.headers.authorization).toBeUndefined();
      expect(forwarded.headers['content-type'].value).toBe('application/json');
      expect(forwarded.headers.host.value).toBe('d111111abcdef8.cloudfront.net');
      // The ALB's stickiness cookie keeps a browser on the pod that holds its queue.
      expect(forwarded.cookies).toEqual({ AWSALB: { value: 'sticky' } });
    },
  );
  vector(
    'a lowercase scheme and /view downloads with a query string',
    [
      viewerRequest({
        uri: '/view',
        querystring: { filename: { value: 'ComfyUI_00001_.png' }, type: { value: 'output' } },
        headers: { authorization: header(`bearer ${alice}`) },
      }),
    ],
    ([forwarded]) => {
      expect(forwarded.uri).toBe('/view');
      expect(forwarded.querystring.filename.value).toBe('ComfyUI_00001_.png');
      expect(forwarded.headers.authorization).toBeUndefined();
    },
  );
  vector('Basic credentials from a non-browser client pass without a redirect', [withAuthorization(basic('alice', alice))], ([forwarded]) => {
    expect(forwarded.uri).toBe('/');
    expect(forwarded.headers.authorization).toBeUndefined();
  });
  vector(
    'the __Host-comfyui_auth cookie alone passes and is removed; other cookies stay',
    [viewerRequest({ cookies: { ...cookie(), AWSALB: { value: 'sticky' } } })],
    ([forwarded]) => expect(forwarded.cookies).toEqual({ AWSALB: { value: 'sticky' } }),
  );
  vector(
    'the old comfyui_auth cookie is no credential any more, and never reaches ComfyUI beside one',
    [
      viewerRequest({ cookies: { [OLD_COOKIE]: { value: alice } } }),
      viewerRequest({ headers: { authorization: header(`Bearer ${alice}`) }, cookies: { [OLD_COOKIE]: { value: alice }, AWSALB: { value: 'sticky' } } }),
    ],
    ([refused, forwarded]) => {
      expectChallenge(refused);
      expect(forwarded.cookies).toEqual({ AWSALB: { value: 'sticky' } });
    },
  );

  group = 'browsers';
  vector(
    'a navigation to the UI signed in with Basic is redirected to /, setting the __Host- session cookie the WebSocket needs',
    [viewerRequest({ uri: '/', headers: { authorization: header(basic('alice', alice)), ...navigation } })],
    ([response]) => {
      expectNewSession(response);
      const attributes: string[] = response.cookies[COOKIE].attributes.split('; ');
      // What a browser requires of a __Host- cookie (Path=/, Secure, no Domain), and what keeps it from scripts and other sites.
      expect(attributes).toEqual(expect.arrayContaining(['Path=/', 'Secure', 'HttpOnly', 'SameSite=Lax']));
      expect(attributes.filter((a) => /^domain=/i.test(a))).toEqual([]);
    },
  );
  const elsewhere = ['/queue', '/extensions/core/x.html', '//evil.example/x', '/\\evil.example/x'];
  vector(
    'a navigation to any other path passes on its Basic credentials: no Location is ever built from a request',
    elsewhere.map((uri) => viewerRequest({ uri, headers: withBasic(navigation) })),
    (responses) =>
      responses.forEach((forwarded, i) => {
        expect(forwarded.statusCode, elsewhere[i]).toBeUndefined();
        expect(forwarded.uri).toBe(elsewhere[i]);
        expect(forwarded.headers.authorization).toBeUndefined();
      }),
  );
  vector(
    'a navigation that already carries the same cookie is not redirected again',
    [viewerRequest({ headers: withBasic(navigation), cookies: cookie() })],
    ([forwarded]) => {
      expect(forwarded.uri).toBe('/');
      expect(forwarded.headers.authorization).toBeUndefined();
      expect(forwarded.cookies[COOKIE]).toBeUndefined();
    },
  );
  vector(
    'a navigation with a query string passes on its Basic credentials instead of being redirected',
    [viewerRequest({ querystring: { workflow: { value: 'a' } }, headers: { authorization: header(basic('alice', alice)), ...navigation } })],
    ([forwarded]) => expect(forwarded.querystring.workflow.value).toBe('a'),
  );
  vector(
    'a same-origin WebSocket upgrade with a valid cookie passes with its upgrade headers',
    [viewerRequest({ uri: '/ws', querystring: { clientId: { value: 'c1' } }, headers: { ...upgrade, ...sameOriginPage }, cookies: cookie() })],
    ([forwarded]) => {
      expect(forwarded.uri).toBe('/ws');
      expect(forwarded.headers.upgrade.value).toBe('websocket');
      expect(forwarded.headers['sec-websocket-key']).toBeDefined();
      expect(forwarded.headers.origin.value).toBe(SITE);
      expect(forwarded.cookies[COOKIE]).toBeUndefined();
    },
  );
  vector(
    'a WebSocket upgrade with a valid Bearer token (any origin) or same-origin Basic credentials passes, never redirected',
    [
      viewerRequest({ uri: '/ws', headers: { ...upgrade, authorization: header(`Bearer ${alice}`) } }),
      viewerRequest({ uri: '/ws', headers: withBasic({ ...upgrade, 'sec-fetch-mode': header('websocket'), ...sameOriginPage }) }),
    ],
    (responses) =>
      responses.forEach((forwarded, i) => {
        expect(forwarded.uri, ['Bearer', 'Basic'][i]).toBe('/ws');
        expect(forwarded.headers.authorization).toBeUndefined();
      }),
  );
  vector('a WebSocket upgrade without a credential is refused', [viewerRequest({ uri: '/ws', headers: upgrade })], everyChallenged);

  group = 'the cookie holds a 12-hour session signed over the user and their current credential, never the token';
  const bobIssued = issueCredential('bob', new Date('2026-01-05T09:00:00Z'));
  const withBob = aliceStore({ [userKey('bob')]: bobIssued.storedValue });
  const inAnHour = nowSeconds() + 3600;
  const [, , aliceMac] = aliceSession.split('.');
  const bobSession = sessionValue('bob', inAnHour, bobIssued.storedValue, sessionKey);
  const basicNavigation = (cookieValue: string, token = alice) =>
    viewerRequest({ headers: { authorization: header(basic('alice', token)), ...navigation }, cookies: cookie(cookieValue) });
  /**
   * Requests that must be refused, after alice's valid session as a control: a refusal proves nothing about
   * sessions unless the same store and function accept a good one.
   */
  const refusedBesideValid = (name: string, refused: unknown[], store = aliceStore()) =>
    vector(
      name,
      [viewerRequest({ cookies: cookie() }), ...refused],
      ([valid, ...rest]) => {
        expectNoSession(valid);
        everyChallenged(rest);
      },
      store,
    );
  refusedBesideValid(
    'an expired session is refused, though its MAC is valid',
    [nowSeconds() - 1, nowSeconds() - 3600].map((expiry) => viewerRequest({ cookies: cookie(sessionValue('alice', expiry, issued.storedValue, sessionKey)) })),
  );
  refusedBesideValid(
    'a session that claims more than 12 hours left is refused, though its MAC is valid',
    [viewerRequest({ cookies: cookie(sessionValue('alice', nowSeconds() + SESSION_SECONDS + 600, issued.storedValue, sessionKey)) })],
  );
  const forgeries: [string, string][] = [
    ['a later expiry under the old MAC', `alice.${Number(aliceSession.split('.')[1]) + 1}.${aliceMac}`],
    ["another user's name under alice's MAC", `bob.${aliceSession.split('.')[1]}.${aliceMac}`],
    ['one character of the MAC changed', aliceSession.slice(0, -1) + (aliceSession.endsWith('A') ? 'B' : 'A')],
    ['a MAC under a key not in the store', sessionValue('alice', inAnHour, issued.storedValue, issueSessionKey(new Date()))],
    ["a MAC over another user's credential", sessionValue('alice', inAnHour, bobIssued.storedValue, sessionKey)],
    ['no MAC at all', `alice.${inAnHour}.${'A'.repeat(43)}`],
  ];
  refusedBesideValid(
    `a forged or tampered session is refused: ${forgeries.map(([name]) => name).join('; ')}`,
    forgeries.map(([, value]) => viewerRequest({ cookies: cookie(value) })),
    withBob,
  );
  const malformed = [`alice.123.${aliceMac}`, `alice.${inAnHour}`, `${aliceSession}.x`, `Alice.${inAnHour}.${aliceMac}`, `a:b.${inAnHour}.${aliceMac}`, `alice.${inAnHour}.${aliceMac}=`];
  refusedBesideValid(
    'session cookies of any other shape are refused, and a session is never taken for a token (as Bearer or Basic password)',
    [
      ...malformed.map((value) => viewerRequest({ cookies: cookie(value) })),
      withAuthorization(`Bearer ${aliceSession}`),
      withAuthorization(basic('alice', aliceSession)),
    ],
  );
  vector(
    "another user's session passes only as that user; with alice's Basic, a navigation gets her a session of her own",
    [viewerRequest({ cookies: cookie(bobSession) }), basicNavigation(bobSession)],
    ([bobs, navigated]) => {
      expectNoSession(bobs);
      expectNewSession(navigated);
    },
    withBob,
  );
  vector(
    'a navigation with an expired session gets a new one',
    [basicNavigation(sessionValue('alice', nowSeconds() - 60, issued.storedValue, sessionKey))],
    ([response]) => expectNewSession(response),
  );
  const rotatedAlice = issueCredential('alice', new Date(), parseStoredCredential(issued.storedValue)!);
  vector(
    "rotating the user ends their sessions at the next request; the new token's sign-in gets a new session",
    [viewerRequest({ cookies: cookie() }), basicNavigation(aliceSession, rotatedAlice.token)],
    ([old, navigated]) => {
      expectChallenge(old);
      expectNewSession(navigated, rotatedAlice.storedValue);
    },
    aliceStore({ [userKey('alice')]: rotatedAlice.storedValue }),
  );
  vector(
    "removing a user ends their sessions at the next request, and only theirs",
    [
      viewerRequest({ cookies: cookie() }),
      viewerRequest({ uri: '/ws', headers: { ...upgrade, ...sameOriginPage }, cookies: cookie() }),
      viewerRequest({ cookies: cookie(bobSession) }),
    ],
    ([plain, socket, bobs]) => {
      expectChallenge(plain);
      expectChallenge(socket);
      expectNoSession(bobs);
    },
    { values: { [SESSION_KEY_NAME]: sessionKey, [userKey('bob')]: bobIssued.storedValue }, broken: false },
  );
  const newKey = issueSessionKey(new Date());
  vector(
    'rotating the session key ends every session; the next sign-in gets one under the new key',
    [viewerRequest({ cookies: cookie() }), basicNavigation(aliceSession)],
    ([old, navigated]) => {
      expectChallenge(old);
      expectNewSession(navigated, issued.storedValue, newKey);
    },
    aliceStore({ [SESSION_KEY_NAME]: newKey }),
  );
  const unusableKeys: [string, string | undefined][] = [
    ['no session key', undefined],
    ['a session key of another format', sessionKey.replace(/^v1/, 'v2')],
    ['a short session key', 'v1$abc$2026-01-05T08:00:00Z'],
    ['an empty session key', ''],
  ];
  for (const [name, value] of unusableKeys) {
    const values: Record<string, string> = { [userKey('alice')]: issued.storedValue };
    if (value !== undefined) values[SESSION_KEY_NAME] = value;
    vector(
      `with ${name} in the store, no session is minted or accepted, and Basic and Bearer still work`,
      [viewerRequest({ cookies: cookie() }), basicNavigation(aliceSession), withAuthorization(`Bearer ${alice}`)],
      ([withCookie, navigated, bearer]) => {
        expectChallenge(withCookie);
        expectNoSession(navigated);
        expectNoSession(bearer);
      },
      { values, broken: false },
    );
  }
  vector(
    'a cookie holding a token, as set before sessions, counts as no cookie: alone 401, beside Basic replaced by a session, never forwarded',
    [
      viewerRequest({ cookies: cookie(alice) }),
      viewerRequest({ uri: '/ws', headers: { ...upgrade, ...sameOriginPage }, cookies: cookie(alice) }),
      basicNavigation(alice),
      viewerRequest({ method: 'POST', uri: '/prompt', headers: withBasic(sameOriginPage), cookies: cookie(alice) }),
    ],
    ([plain, socket, navigated, posted]) => {
      expectChallenge(plain);
      expectChallenge(socket);
      expectNewSession(navigated);
      expectNoSession(posted);
    },
  );

  group = 'a browser credential (Basic or the cookie) writes and opens WebSockets only from this origin: 403 otherwise';
  vector(
    'a cross-site form POST to /prompt with cached Basic credentials, text/plain as a form sends it',
    [
      viewerRequest({
        method: 'POST',
        uri: '/prompt',
        headers: withBasic({ ...crossSitePage, 'sec-fetch-mode': header('navigate'), 'content-type': header('text/plain') }),
      }),
    ],
    everyForbidden,
  );
  vector(
    'every write endpoint, with Basic and with the cookie, from a cross-site page',
    WRITES.flatMap(([method, uri]) => browserCredentials({ method, uri, headers: crossSitePage })),
    everyForbidden,
  );
  vector(
    'a cross-site WebSocket upgrade (WebSocket hijacking), with Basic and with the cookie',
    browserCredentials({ uri: '/ws', headers: { ...upgrade, ...crossSitePage } }),
    everyForbidden,
  );
  vector(
    'Sec-Fetch-Site same-site (a sibling host) or none (typed or bookmarked) is not this origin',
    ['same-site', 'none'].flatMap((site) =>
      browserCredentials({ method: 'POST', uri: '/prompt', headers: { 'sec-fetch-site': header(site) } }),
    ),
    everyForbidden,
  );
  const foreignOrigins = [
    'https://evil.example',
    'null',
    'http://d111111abcdef8.cloudfront.net',
    `${SITE}:8443`,
    `${SITE}.evil.example`,
    'https://other.cloudfront.net',
    '',
  ];
  vector(
    'without Sec-Fetch-Site (older browsers), an Origin other than https://<Host> is refused',
    foreignOrigins.flatMap((origin) => browserCredentials({ method: 'POST', uri: '/prompt', headers: { origin: header(origin) } })),
    everyForbidden,
  );
  vector(
    'a write or upgrade with neither Sec-Fetch-Site nor Origin is refused: browsers send one, scripts use Bearer',
    [
      ...browserCredentials({ method: 'POST', uri: '/prompt' }),
      ...browserCredentials({ uri: '/ws', headers: upgrade }),
    ],
    everyForbidden,
  );
  const twoOrigins = { value: SITE, multiValue: [{ value: SITE }, { value: 'https://evil.example' }] };
  vector(
    'signals that disagree, repeat or lack a Host are refused',
    [
      ...browserCredentials({ method: 'POST', uri: '/prompt', headers: { 'sec-fetch-site': header('same-origin'), origin: header('https://evil.example') } }),
      ...browserCredentials({ method: 'POST', uri: '/prompt', headers: { 'sec-fetch-site': header('cross-site'), origin: header(SITE) } }),
      ...browserCredentials({ method: 'POST', uri: '/prompt', headers: { origin: twoOrigins } }),
      ...browserCredentials({ method: 'POST', uri: '/prompt', headers: { 'sec-fetch-site': header('') } }),
      ...browserCredentials({ method: 'POST', uri: '/prompt', headers: { ...sameOriginPage, host: header('') } }),
    ],
    everyForbidden,
  );

  group = 'same-origin browser requests, reads and Bearer clients pass as before';
  vector(
    "the UI's own writes pass with Basic or the cookie: Sec-Fetch-Site and Origin, or either alone",
    [
      ...browserCredentials({ method: 'POST', uri: '/prompt', headers: sameOriginPage }),
      ...browserCredentials({ method: 'POST', uri: '/api/upload/image', headers: { 'sec-fetch-site': header('same-origin') } }),
      // Origin's host in another letter case: hosts are case-insensitive.
      ...browserCredentials({ method: 'DELETE', uri: '/api/userdata/x.json', headers: { origin: header(SITE.toUpperCase().replace('HTTPS', 'https')) } }),
    ],
    everyForwarded,
  );
  vector(
    'reads (GET, HEAD, OPTIONS) with a browser credential pass from any site: a cross-site page cannot read the answer',
    ['GET', 'HEAD', 'OPTIONS'].flatMap((method) =>
      browserCredentials({ method, uri: '/view', querystring: { filename: { value: 'x.png' } }, headers: crossSitePage }),
    ),
    everyForwarded,
  );
  vector(
    'Bearer requests are unchanged: a write or upgrade with any Origin, or none, passes (a page cannot attach Bearer)',
    [
      viewerRequest({ method: 'POST', uri: '/prompt', headers: { authorization: header(`Bearer ${alice}`) } }),
      viewerRequest({ method: 'POST', uri: '/prompt', headers: { authorization: header(`Bearer ${alice}`), ...crossSitePage } }),
      viewerRequest({ uri: '/ws', headers: { authorization: header(`Bearer ${alice}`), ...upgrade, ...crossSitePage } }),
    ],
    everyForwarded,
  );
  vector(
    'a refused write still needs a valid credential first: without one it is 401, as before',
    [viewerRequest({ method: 'POST', uri: '/prompt', headers: { authorization: header(basic('alice', wrong)), ...crossSitePage } })],
    everyChallenged,
  );

  group = "paths reach ComfyUI only in the form CloudFront's behaviours match";
  const encodedPaths = ['/%76iew', '/api/%76iew', '/%61pi/view', '/api/%75serdata/x.svg', '/vi%65w', '/%5Fx', '/x%7e', '/x%2d', '/%2e/view'];
  vector(
    'a percent-encoded unreserved character is refused 400: ComfyUI would route /%76iew to /view, around its sandbox',
    encodedPaths.map((uri) =>
      viewerRequest({ uri, querystring: { filename: { value: 'x.svg' }, type: { value: 'input' } }, headers: { authorization: header(`Bearer ${alice}`) } }),
    ),
    (responses) =>
      responses.forEach((response, i) => {
        expect(response.statusCode, encodedPaths[i]).toBe(400);
        expect(response.headers['cache-control'].value).toBe('no-store');
      }),
  );
  const reservedPaths = ['/api/userdata/workflows%2Fmy%20flow.json', '/api/userdata/%C3%A9t%C3%A9.json', '/view'];
  vector(
    'encoded reserved and non-ASCII characters pass, as encodeURIComponent writes them',
    reservedPaths.map((uri) => viewerRequest({ uri, headers: { authorization: header(`Bearer ${alice}`) } })),
    (responses) => responses.forEach((forwarded, i) => expect(forwarded.uri).toBe(reservedPaths[i])),
  );

  group = 'the jobs API: the edge names the caller, and a body needs its hash (origin access control to Lambda)';
  const bodyHash = nodeCrypto.createHash('sha256').update('{"workflow":{}}').digest('hex');
  const jobs = `${JOBS_API_PREFIX}/jobs`;
  const bearer = (headers: Record<string, Field> = {}) => ({ authorization: header(`Bearer ${alice}`), ...headers });
  const forged = { [IDENTITY_HEADER]: { value: 'bob', multiValue: [{ value: 'bob' }, { value: 'admin' }] } };
  /** Forwarded as alice, whatever identity the client claimed, with no credential left. */
  const expectAlice = (forwarded: any, label?: string) => {
    expect(forwarded.statusCode, label).toBeUndefined();
    expect(forwarded.headers[IDENTITY_HEADER], label).toEqual({ value: 'alice' });
    expect(forwarded.headers.authorization, label).toBeUndefined();
  };
  vector(
    `every forwarded request carries ${IDENTITY_HEADER}: the verified user, over any value the client sent`,
    [
      viewerRequest({ uri: jobs, headers: bearer(forged) }),
      viewerRequest({ uri: `${jobs}/abc`, headers: { ...sameOriginPage, [IDENTITY_HEADER]: header('bob') }, cookies: cookie() }),
      viewerRequest({ uri: '/prompt', method: 'POST', headers: withBasic({ ...sameOriginPage, [IDENTITY_HEADER]: header('bob') }) }),
      viewerRequest({ uri: '/queue' }),
    ],
    ([asBearer, asCookie, asBasic, anonymous]) => {
      expectAlice(asBearer, 'Bearer');
      expectAlice(asCookie, 'cookie');
      expectAlice(asBasic, 'Basic, outside the jobs API too');
      expectChallenge(anonymous);
    },
  );
  const unsigned: [string, Record<string, Field>][] = [
    ['POST without the header', {}],
    ['PUT with a value that is not a SHA-256', { [PAYLOAD_HASH_HEADER]: header('UNSIGNED-PAYLOAD') }],
    ['PATCH with uppercase hex, which Lambda would not match', { [PAYLOAD_HASH_HEADER]: header(bodyHash.toUpperCase()) }],
    ['POST with the header twice', { [PAYLOAD_HASH_HEADER]: { value: bodyHash, multiValue: [{ value: bodyHash }, { value: bodyHash }] } }],
    ['POST with 63 hex characters', { [PAYLOAD_HASH_HEADER]: header(bodyHash.slice(1)) }],
  ];
  vector(
    `a write to the jobs API without a hex SHA-256 in ${PAYLOAD_HASH_HEADER} is answered 400 naming the header: ${unsigned.map(([name]) => name).join('; ')}`,
    unsigned.map(([name, headers]) =>
      viewerRequest({ method: name.split(' ')[0], uri: name.startsWith('PUT') ? `${JOBS_API_PREFIX}/templates/portrait` : jobs, headers: bearer(headers) }),
    ),
    (responses) =>
      responses.forEach((response, i) => {
        const label = unsigned[i][0];
        expect(response.statusCode, label).toBe(400);
        expect(response.statusDescription, label).toContain(PAYLOAD_HASH_HEADER);
        expect(JSON.parse(response.body).error.field, label).toBe(PAYLOAD_HASH_HEADER);
        expect(response.headers['cache-control'].value).toBe('no-store');
        expect(JSON.stringify(response)).not.toContain(alice.split('.')[1]);
      }),
  );
  vector(
    'a jobs API write with its body hash passes as is; reads, deletes and ComfyUI writes need no hash; a credential is still checked first',
    [
      viewerRequest({ method: 'POST', uri: jobs, headers: bearer({ [PAYLOAD_HASH_HEADER]: header(bodyHash) }) }),
      viewerRequest({ uri: jobs, querystring: { status: { value: 'pending' } }, headers: bearer() }),
      viewerRequest({ method: 'DELETE', uri: `${JOBS_API_PREFIX}/templates/portrait`, headers: bearer() }),
      viewerRequest({ method: 'POST', uri: '/prompt', headers: bearer() }),
      viewerRequest({ method: 'POST', uri: jobs }),
    ],
    ([signed, read, deleted, comfyui, anonymous]) => {
      expectAlice(signed);
      expect(signed.headers[PAYLOAD_HASH_HEADER].value).toBe(bodyHash);
      expectAlice(read);
      expect(read.querystring.status.value).toBe('pending');
      expectAlice(deleted);
      expectAlice(comfyui);
      expectChallenge(anonymous);
    },
  );

  group = 'autoscaling: after authentication, a GET or HEAD fails over from the ALB to the wake page';
  /** The one origin group the function asks for: the ALB first, the wake page when it answers 502, 503 or 504. */
  const WAKE_GROUP = { originIds: [...WAKE_ORIGIN_IDS], failoverCriteria: { statusCodes: [502, 503, 504] } };
  const bearerRead = (request: Partial<Request> = {}) =>
    viewerRequest({ ...request, headers: { authorization: header(`Bearer ${alice}`), ...request.headers } });
  const reads: [string, unknown][] = [
    ['a Bearer GET of the UI', bearerRead()],
    ['a HEAD', bearerRead({ method: 'HEAD', uri: '/api/system_stats' })],
    ['a GET of an API path with a query', bearerRead({ uri: '/api/history', querystring: { max_items: { value: '5' } } })],
    ['a GET of an output (the user-file behaviour)', bearerRead({ uri: '/view', querystring: { filename: { value: 'a.png' } } })],
    ['a session-cookie GET', viewerRequest({ uri: '/', cookies: cookie() })],
  ];
  wakeVector(
    `GET and HEAD ask for the [ALB, wake] origin group, still forwarded with the identity and without credentials: ${reads.map(([n]) => n).join('; ')}`,
    reads.map(([, request]) => request),
    (responses, groups) => {
      responses.forEach((forwarded, i) => {
        expect(forwarded.statusCode, reads[i][0]).toBeUndefined();
        expect(forwarded.headers[IDENTITY_HEADER].value).toBe('alice');
        expect(forwarded.headers.authorization).toBeUndefined();
        expect(groups[i], reads[i][0]).toEqual([WAKE_GROUP]);
      });
    },
  );
  const writes: [string, unknown][] = [
    ['POST /prompt', bearerRead({ method: 'POST', uri: '/prompt' })],
    ['PUT', bearerRead({ method: 'PUT', uri: '/userdata/x.json' })],
    ['PATCH', bearerRead({ method: 'PATCH', uri: '/prompt' })],
    ['DELETE', bearerRead({ method: 'DELETE', uri: '/api/userdata/x.json' })],
    ['OPTIONS', bearerRead({ method: 'OPTIONS', uri: '/prompt' })],
  ];
  wakeVector(
    `other methods never get an origin group (CloudFront fails over only GET, HEAD, OPTIONS; a preflight needs no page): ${writes.map(([n]) => n).join('; ')}`,
    writes.map(([, request]) => request),
    (responses, groups) => {
      responses.forEach((forwarded, i) => {
        expect(forwarded.statusCode, writes[i][0]).toBeUndefined();
        expect(groups[i], writes[i][0]).toEqual([]);
      });
    },
  );
  wakeVector(
    'the jobs API is never failed over: its own 503s and its answers reach the client as they are',
    [
      bearerRead({ uri: `${JOBS_API_PREFIX}/jobs` }),
      bearerRead({ method: 'HEAD', uri: `${JOBS_API_PREFIX}/jobs/j1` }),
      bearerRead({ uri: JOBS_API_PREFIX.replace(/\/v1$/, '/') }),
    ],
    (responses, groups) => {
      responses.forEach((forwarded) => expect(forwarded.statusCode).toBeUndefined());
      expect(groups).toEqual([[], [], []]);
    },
  );
  wakeVector(
    'a WebSocket upgrade (a GET) is never failed over: a Lambda URL cannot answer it, and the page reconnects once ComfyUI is up',
    [bearerRead({ uri: '/ws', headers: { ...upgrade, authorization: header(`Bearer ${alice}`) } })],
    ([forwarded], [groups]) => {
      expect(forwarded.uri).toBe('/ws');
      expect(groups).toEqual([]);
    },
  );
  wakeVector(
    'nothing is failed over before authentication succeeds: 401, the session redirect, 403 and 400 answer as without autoscaling',
    [
      viewerRequest(),
      withAuthorization(`Bearer ${wrong}`),
      viewerRequest({ uri: '/', headers: { authorization: header(basic('alice', alice)), ...navigation } }),
      viewerRequest({ method: 'POST', uri: '/prompt', headers: withBasic(crossSitePage) }),
      bearerRead({ uri: '/%76iew' }),
    ],
    ([anonymous, wrongSecret, signIn, crossSite, encoded], groups) => {
      expectChallenge(anonymous);
      expectChallenge(wrongSecret);
      expectNewSession(signIn);
      expectForbidden(crossSite);
      expect(encoded.statusCode).toBe(400);
      expect(groups).toEqual([[], [], [], [], []]);
    },
  );
  vectors.push({
    group,
    name: 'with autoscaling off (the file as committed), the same GET goes to the ALB alone',
    store: aliceStore(),
    events: [bearerRead(), bearerRead({ method: 'HEAD', uri: '/api/system_stats' })],
    wake: false,
    check: (responses, groups) => {
      responses.forEach((forwarded) => expect(forwarded.statusCode).toBeUndefined());
      expect(groups).toEqual([[], []]);
    },
  });

  group = 'malformed input is answered 401, never an exception';
  const secret = 'A'.repeat(43);
  const b64 = (text: string) => Buffer.from(text, 'latin1').toString('base64');
  const malformedHeaders: [string, string][] = [
    ['a Basic value that is not base64', 'Basic !!!notbase64!!!'],
    ['base64 of the wrong length', 'Basic YWxpY2U'],
    ['Basic without a colon', `Basic ${b64('alice')}`],
    ['Basic with an empty user', `Basic ${b64(':alice.' + secret)}`],
    ['Basic with an empty password', `Basic ${b64('alice:')}`],
    ['Basic decoding to non-ASCII bytes', `Basic ${b64('alice:\u00e9\u00ff' + secret)}`],
    ['a bare scheme', 'Bearer'],
    ['a scheme and spaces', 'Bearer    '],
    ['an unknown scheme', 'Digest username="alice"'],
    ['a token without a dot', `Bearer alice${secret}`],
    ['a token with an uppercase user', `Bearer Alice.${secret}`],
    ['a token with a short secret', 'Bearer alice.abc'],
    ['a token with characters outside base64url', `Bearer alice.${'+'.repeat(43)}`],
    ['a huge Bearer value', `Bearer alice.${'A'.repeat(100_000)}`],
    ['a huge Basic value', `Basic ${'QUFB'.repeat(50_000)}`],
  ];
  for (const [name, authorization] of malformedHeaders) vector(name, [withAuthorization(authorization)], everyChallenged);
  const both = { value: `Bearer ${alice}`, multiValue: [{ value: `Bearer ${alice}` }, { value: 'Bearer other' }] };
  vector('two Authorization headers', [viewerRequest({ headers: { authorization: both } })], everyChallenged);
  const twice = { value: aliceSession, multiValue: [{ value: aliceSession }, { value: 'x' }] };
  vector(
    'two __Host-comfyui_auth cookies, or a huge one',
    [viewerRequest({ cookies: { [COOKIE]: twice } }), viewerRequest({ cookies: { [COOKIE]: { value: 'x'.repeat(100_000) } } })],
    everyChallenged,
  );
  const corruptions: [string, (stored: string) => string][] = [
    ['an unknown format version', (v) => v.replace(/^v1/, 'v2')],
    ['a missing hash', (v) => v.split('$').slice(0, 2).join('$')],
    ['an uppercase hex hash', (v) => v.replace(/\$([0-9a-f]{64})\$/, (_m, h: string) => `$${h.toUpperCase()}$`)],
    ['a short salt', (v) => v.replace(/^v1\$[^$]+/, 'v1$abc')],
    ['not a credential at all', () => 'hello'],
    ['an empty value', () => ''],
    ['a huge value', (v) => v + '$' + 'x'.repeat(5000)],
  ];
  for (const [name, corrupt] of corruptions) {
    const store = aliceStore({ [userKey('alice')]: corrupt(issued.storedValue) });
    vector(`a stored value with ${name}`, [withAuthorization(`Bearer ${alice}`)], everyChallenged, store);
  }
  vector('an event without headers, cookies or even a request', [{ request: { method: 'GET', uri: '/' } }, {}], everyChallenged);

  group = 'credentials made by the CLI module';
  const users = ['bob', 'carol-2', 'd_e', '0ops'].map((name) => ({ name, ...issueCredential(name, new Date()) }));
  const [bob, carol] = users.map((u) => u.token);
  const swapped = `carol-2.${bob.split('.')[1]}`;
  vector(
    'verify at the edge for many users, each only with its own token',
    [...users.map((u) => withAuthorization(`Bearer ${u.token}`)), withAuthorization(`Bearer ${swapped}`)],
    (responses) => {
      for (const forwarded of responses.slice(0, users.length)) expect(forwarded.uri).toBe('/');
      expectChallenge(responses[users.length]);
      expect(carol).not.toBe(swapped);
    },
    aliceStore(Object.fromEntries(users.map((u) => [userKey(u.name), u.storedValue]))),
  );

  // njs reports its results by name.
  const repeated = vectors.map((v) => v.name).filter((name, i, names) => names.indexOf(name) !== i);
  if (repeated.length > 0) throw new Error(`vector names must be unique; repeated: ${repeated.join(', ')}`);
  return vectors;
}
