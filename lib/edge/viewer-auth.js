// ComfyUI edge auth, a cloudfront-js-2.0 viewer-request function. Why: lib/constructs/edge-auth.ts (comments
// count toward the 10 KB limit). Store formats: lib/edge/credentials.ts.
import cf from 'cloudfront';
import crypto from 'crypto';

const kvs = cf.kvs(); // the one store associated with this function

const COOKIE = '__Host-comfyui_auth';
const OLD_COOKIE = 'comfyui_auth'; // before the __Host- prefix: no credential now, still removed
const SESSION_KEY = 'session:key'; // outside `user:`, so no user name can take it
const SESSION_SECONDS = 43200; // 12 hours: how long a session and its cookie last
const COOKIE_ATTRIBUTES = 'Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=' + SESSION_SECONDS;
const USER = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const SECRET = /^[A-Za-z0-9_-]{43}$/;
const SESSION = /^([a-z0-9][a-z0-9_-]{0,31})\.(\d{10})\.([A-Za-z0-9_-]{43})$/;
const SALT = /^[A-Za-z0-9_-]{22}$/;
const HASH = /^[0-9a-f]{64}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const SAFE_METHOD = /^(GET|HEAD|OPTIONS)$/;
const IDENTITY = 'x-comfyui-user'; // lib/jobs/contract.ts names these two; a test ties them
const JOBS_API = '/render-api/';
const PAYLOAD = 'x-amz-content-sha256';
// [ALB, wake] origin ids with autoscaling, else null: set at synth (viewer-auth-source.ts).
const WAKE = null;
// A percent-encoded unreserved character: ComfyUI decodes it (/%76iew is /view), missing the /view behaviour.
const ENCODED_UNRESERVED = /%(2[de]|3[0-9]|[46][1-9a-f]|[57][0-9a]|5f|7e)/i;
// A valid credential is under 120 characters; longer input is refused unparsed.
const MAX_LENGTH = 256;

function answer(statusCode, description) {
  return { statusCode: statusCode, statusDescription: description, headers: { 'cache-control': { value: 'no-store' } } };
}

function deny() {
  const response = answer(401, 'Unauthorized');
  response.headers['www-authenticate'] = { value: 'Basic realm="ComfyUI", charset="UTF-8"' };
  return response;
}

// Base64 to text; null unless every byte is printable ASCII (all a credential holds).
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

// A field's one value; null when repeated (ambiguous) or oversized.
function single(field) {
  if (field.multiValue && field.multiValue.length > 1) return null;
  const value = field.value;
  return typeof value === 'string' && value.length <= MAX_LENGTH ? value : null;
}

// What Authorization presents: undefined when absent, null when unusable.
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

// An optional header's one value (undefined: absent, null: unusable).
function optional(headers, name) {
  return headers[name] ? single(headers[name]) : undefined;
}

// Sent by a page of this origin: Sec-Fetch-Site and Origin, where present, say so (same-site and none do
// not), and one is present: browsers send Origin on every POST and WebSocket, newer ones both.
function sameOrigin(headers) {
  const site = optional(headers, 'sec-fetch-site');
  const origin = optional(headers, 'origin');
  const host = optional(headers, 'host');
  if (site === null || origin === null || !host || (site === undefined && origin === undefined)) return false;
  return (site === undefined || site === 'same-origin')
    && (origin === undefined || origin.toLowerCase() === 'https://' + host.toLowerCase());
}

// A write or WebSocket upgrade from another site on a credential the browser attached itself.
function crossSite(request, presented) {
  return presented.kind !== 'bearer' && (!SAFE_METHOD.test(request.method) || !!request.headers.upgrade)
    && !sameOrigin(request.headers);
}

// The session cookie; undefined if absent, repeated or not a session (such as an old token).
function fromCookie(cookies) {
  const match = cookies[COOKIE] ? SESSION.exec(single(cookies[COOKIE]) || '') : null;
  return match ? { kind: 'cookie', user: match[1], expiry: match[2], mac: match[3] } : undefined;
}

function parseToken(token) {
  const dot = token.indexOf('.');
  const user = token.slice(0, dot);
  const secret = token.slice(dot + 1);
  return dot > 0 && USER.test(user) && SECRET.test(secret) ? { user: user, secret: secret } : null;
}

// Compares every character, so timing does not reveal a prefix.
function sameText(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

// The user's stored value split at `$` ([1] salt, [2] hash); null if unknown, unreadable or not v1.
async function record(user) {
  let stored;
  try {
    stored = await kvs.get('user:' + user);
  } catch (e) {
    return null;
  }
  if (typeof stored !== 'string' || stored.length > 1024) return null;
  const parts = stored.split('$');
  return parts[0] === 'v1' && SALT.test(parts[1]) && HASH.test(parts[2]) ? parts : null;
}

// The key that signs sessions; null (logged: CloudWatch, us-east-1) mints and accepts none. Basic, Bearer work.
async function sessionKey() {
  let parts = [];
  try {
    const stored = await kvs.get(SESSION_KEY); // njs 0.7 crashes on `await` inside a call's arguments
    parts = stored.split('$');
  } catch (e) {}
  if (parts[0] === 'v1' && SECRET.test(parts[1])) return parts[1];
  console.log('no usable ' + SESSION_KEY + ': no browser sessions; run comfyctl users rotate-session-key');
  return null;
}

// Over the user's stored hash too: rotating or removing the user ends their sessions.
function sign(key, user, expiry, parts) {
  return crypto.createHmac('sha256', key).update(user + '.' + expiry + '.' + parts[2]).digest('base64url');
}

function validSession(session, parts, key) {
  const left = session.expiry - Date.now() / 1000;
  return key !== null && left > 0 && left <= SESSION_SECONDS
    && sameText(sign(key, session.user, session.expiry, parts), session.mac);
}

// A Basic navigation to the UI (`/`, query-less) gets a session by a redirect to `/` (fixed Location).
function wantsSession(request, presented) {
  const mode = request.headers['sec-fetch-mode'];
  return presented.kind === 'basic' && request.method === 'GET' && request.uri === '/' && !request.headers.upgrade
    && mode !== undefined && mode.value === 'navigate'
    && Object.keys(request.querystring).length === 0;
}

function redirectSettingSession(user, parts, key) {
  const expiry = Math.floor(Date.now() / 1000) + SESSION_SECONDS;
  const response = answer(307, 'Temporary Redirect');
  response.headers.location = { value: '/' };
  response.cookies = {};
  response.cookies[COOKIE] = { value: user + '.' + expiry + '.' + sign(key, user, expiry, parts), attributes: COOKIE_ATTRIBUTES };
  return response;
}

async function authenticate(request) {
  request.headers = request.headers || {};
  request.cookies = request.cookies || {};
  request.querystring = request.querystring || {};
  const header = fromHeader(request.headers);
  const session = fromCookie(request.cookies);
  // An Authorization header decides alone: a stale cookie never overrides it.
  const presented = header !== undefined ? header : session;
  if (!presented) return deny();
  let user = presented.user;
  let parts;
  if (presented.kind === 'cookie') {
    parts = await record(user);
    const key = parts && (await sessionKey());
    if (!parts || !validSession(presented, parts, key)) return deny();
  } else {
    const credential = presented.token.length > MAX_LENGTH ? null : parseToken(presented.token);
    if (!credential || (presented.kind === 'basic' && user !== credential.user)) return deny();
    user = credential.user;
    parts = await record(user);
    if (!parts || !sameText(crypto.createHash('sha256').update(parts[1] + credential.secret).digest('hex'), parts[2])) return deny();
  }
  if (ENCODED_UNRESERVED.test(request.uri)) return answer(400, 'Bad Request');
  if (crossSite(request, presented)) return answer(403, 'Forbidden');
  if (/^P(OST|UT|ATCH)$/.test(request.method) && request.uri.indexOf(JOBS_API) === 0
    && !HASH.test(optional(request.headers, PAYLOAD) || '')) {
    const refused = answer(400, PAYLOAD + ' must be the hex SHA-256 of the body');
    refused.body = '{"error":{"type":"bad_request","field":"' + PAYLOAD + '","message":"' + refused.statusDescription + '"}}';
    refused.headers['content-type'] = { value: 'application/json' };
    return refused;
  }
  if (wantsSession(request, presented)) {
    const key = await sessionKey();
    if (key !== null && !(session && session.user === user && validSession(session, parts, key))) {
      return redirectSettingSession(user, parts, key);
    }
  }
  // ComfyUI never sees a credential.
  request.headers[IDENTITY] = { value: user };
  delete request.headers.authorization;
  delete request.cookies[COOKIE];
  delete request.cookies[OLD_COOKIE];
  // No pod: the ALB's 5xx (or no connection) fails over to the wake page.
  if (WAKE && /^(GET|HEAD)$/.test(request.method) && !request.headers.upgrade && request.uri.indexOf(JOBS_API) !== 0) {
    cf.createRequestOriginGroup({ originIds: WAKE, failoverCriteria: { statusCodes: [502, 503, 504] } });
  }
  return request;
}

async function handler(event) {
  try {
    return await authenticate(event.request);
  } catch (e) {
    return deny();
  }
}
