// ComfyUI edge authentication: a CloudFront Function (cloudfront-js-2.0) on viewer request.
// Every request must carry a user token `<user>.<secret>`, as `Authorization: Bearer <token>` (API
// clients), Basic credentials `<user>:<token>` (browsers), or the comfyui_auth cookie (browsers'
// WebSocket upgrade, which may not resend Basic). The associated KeyValueStore maps `user:<name>` to
// `v1$<salt>$<sha256(salt + secret) hex>[$metadata]`; lib/edge/credentials.ts writes that format.
// Deployed as is: CloudFront counts comments toward the 10 KB limit, so design notes live in
// lib/constructs/edge-auth.ts. Any failure answers 401 and forwards nothing.
import cf from 'cloudfront';
import crypto from 'crypto';

const kvs = cf.kvs(); // the one store associated with this function

const COOKIE = 'comfyui_auth';
const COOKIE_ATTRIBUTES = 'Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=43200';
const USER = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const SECRET = /^[A-Za-z0-9_-]{43}$/;
const SALT = /^[A-Za-z0-9_-]{22}$/;
const HASH = /^[0-9a-f]{64}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
// A valid credential is under 120 characters; longer input is refused before any parsing.
const MAX_LENGTH = 256;

function deny() {
  return {
    statusCode: 401,
    statusDescription: 'Unauthorized',
    headers: {
      'www-authenticate': { value: 'Basic realm="ComfyUI", charset="UTF-8"' },
      'cache-control': { value: 'no-store' },
    },
  };
}

// Standard base64 to text; null unless every decoded byte is printable ASCII (all a credential holds).
function decodeBase64(text) {
  if (text.length % 4 !== 0 || !BASE64.test(text)) return null;
  let out = '';
  let bits = 0;
  let value = 0;
  for (let i = 0; i < text.length && text[i] !== '='; i++) {
    value = (value << 6) | ALPHABET.indexOf(text[i]);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      const code = (value >> bits) & 255;
      if (code < 32 || code > 126) return null;
      out += String.fromCharCode(code);
    }
  }
  return out;
}

// The one value of a header or cookie; null when it is repeated (ambiguous) or oversized.
function single(field) {
  if (field.multiValue && field.multiValue.length > 1) return null;
  const value = field.value;
  return typeof value === 'string' && value.length <= MAX_LENGTH ? value : null;
}

// What the Authorization header presents: undefined when absent, null when unusable.
function fromHeader(headers) {
  if (!headers.authorization) return undefined;
  const value = single(headers.authorization);
  const match = value === null ? null : /^(Bearer|Basic) +(\S+) *$/i.exec(value);
  if (!match) return null;
  if (match[1].toLowerCase() === 'bearer') return { kind: 'bearer', token: match[2] };
  const pair = decodeBase64(match[2]);
  const colon = pair === null ? -1 : pair.indexOf(':');
  if (colon < 1) return null;
  return { kind: 'basic', user: pair.slice(0, colon), token: pair.slice(colon + 1) };
}

function fromCookie(cookies) {
  if (!cookies[COOKIE]) return undefined;
  const token = single(cookies[COOKIE]);
  return token === null ? null : { kind: 'cookie', token: token };
}

function parseToken(token) {
  const dot = token.indexOf('.');
  const user = token.slice(0, dot);
  const secret = token.slice(dot + 1);
  return dot > 0 && USER.test(user) && SECRET.test(secret) ? { user: user, secret: secret } : null;
}

// Compares every character whatever the first difference, so timing does not reveal a prefix.
function sameText(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

async function verify(credential) {
  let stored;
  try {
    stored = await kvs.get('user:' + credential.user);
  } catch (e) {
    return false; // unknown user (get() throws for a missing key) or store unreachable
  }
  if (typeof stored !== 'string' || stored.length > 1024) return false;
  const parts = stored.split('$');
  if (parts[0] !== 'v1' || parts.length < 3 || !SALT.test(parts[1]) || !HASH.test(parts[2])) return false;
  const actual = crypto.createHash('sha256').update(parts[1] + credential.secret).digest('hex');
  return sameText(actual, parts[2]);
}

// A browser navigation that signed in with Basic gets the cookie through a redirect to the same URL.
// Only query-less GET navigations: the Location is then exactly the request's path.
function wantsCookie(request, presented, cookie) {
  const mode = request.headers['sec-fetch-mode'];
  return presented.kind === 'basic' && request.method === 'GET' && !request.headers.upgrade
    && mode !== undefined && mode.value === 'navigate'
    && Object.keys(request.querystring).length === 0
    && !(cookie && cookie.token === presented.token);
}

function redirectSettingCookie(request, token) {
  const cookies = {};
  cookies[COOKIE] = { value: token, attributes: COOKIE_ATTRIBUTES };
  return {
    statusCode: 307,
    statusDescription: 'Temporary Redirect',
    // Leading slashes and backslashes collapse to one: `//host` would be a redirect to another site.
    headers: { location: { value: request.uri.replace(/^[\/\\]+/, '/') }, 'cache-control': { value: 'no-store' } },
    cookies: cookies,
  };
}

async function authenticate(request) {
  request.headers = request.headers || {};
  request.cookies = request.cookies || {};
  request.querystring = request.querystring || {};
  const header = fromHeader(request.headers);
  const cookie = fromCookie(request.cookies);
  // An Authorization header decides alone: a stale cookie never overrides what the client sent.
  const presented = header !== undefined ? header : cookie;
  if (!presented || presented.token.length > MAX_LENGTH) return deny();
  const credential = parseToken(presented.token);
  if (!credential || (presented.kind === 'basic' && presented.user !== credential.user)) return deny();
  if (!(await verify(credential))) return deny();
  if (wantsCookie(request, presented, cookie)) return redirectSettingCookie(request, presented.token);
  // ComfyUI never sees a credential.
  delete request.headers.authorization;
  delete request.cookies[COOKIE];
  return request;
}

async function handler(event) {
  try {
    return await authenticate(event.request);
  } catch (e) {
    return deny();
  }
}
