import { createHash } from 'node:crypto';

/**
 * What a visitor gets while no ComfyUI pod answers (docs/scaling-design.md section 4): 503 with Retry-After, never
 * cached; browsers a page that refreshes itself, API clients a JSON error. Pure: no I/O, no clock.
 */

/** Seconds a client should wait before asking again (the Retry-After header and the JSON's retry_after_seconds). */
export const RETRY_AFTER_SECONDS = 20;
/**
 * Seconds before the page reloads itself: each reload is another GET that fails over here while no pod answers
 * (one more visit, so more demand) and becomes ComfyUI once the ALB answers 200.
 */
export const REFRESH_SECONDS = 15;
/** The error type API clients (comfyctl invoke) recognise. */
export const GPUS_STARTING = 'gpus_starting';

/** What the wake queue receives per visit: who, where, when (epoch seconds). KEDA reads only the queue's depth. */
export interface WakeMessage {
  readonly user: string | null;
  readonly path: string;
  readonly t: number;
}

export interface WakeRequest {
  readonly accept?: string;
  readonly user?: string;
  readonly path: string;
}

export interface WakeAnswer {
  readonly statusCode: 503;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export function wakeMessage(request: WakeRequest, nowMs: number): WakeMessage {
  return { user: request.user ?? null, path: request.path, t: Math.floor(nowMs / 1000) };
}

export function startingMessage(coldStartMinutes: number): string {
  return `GPUs are starting, usually about ${coldStartMinutes} minute${coldStartMinutes === 1 ? '' : 's'}; retry in ${RETRY_AFTER_SECONDS} seconds.`;
}

/** A browser asks for HTML (navigations send `Accept: text/html,...`); everything else gets JSON. */
export function wantsHtml(accept: string | undefined): boolean {
  return /(^|,)\s*text\/html\s*(;|,|$)/i.test(accept ?? '');
}

export function wakeAnswer(request: WakeRequest, coldStartMinutes: number): WakeAnswer {
  const headers = { 'retry-after': String(RETRY_AFTER_SECONDS), 'cache-control': 'no-store' };
  if (!wantsHtml(request.accept)) {
    const body = { error: { type: GPUS_STARTING, message: startingMessage(coldStartMinutes), retry_after_seconds: RETRY_AFTER_SECONDS } };
    return { statusCode: 503, headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) };
  }
  return {
    statusCode: 503,
    headers: { ...headers, 'content-type': 'text/html; charset=utf-8', 'content-security-policy': PAGE_CONTENT_SECURITY_POLICY },
    body: wakePage(coldStartMinutes),
  };
}

/**
 * Counts the wait across reloads: the start is kept in sessionStorage (per tab), so the counter goes on where the
 * last reload left it. Without script (a sandboxing CSP, script off) the page still refreshes by its meta tag.
 */
const ELAPSED_SCRIPT =
  "var k='comfyui-wake-start',s=Number(sessionStorage.getItem(k))||Date.now();sessionStorage.setItem(k,String(s));" +
  "function t(){var e=Math.floor((Date.now()-s)/1000);document.getElementById('elapsed').textContent=" +
  "'Waiting '+Math.floor(e/60)+'m'+('0'+e%60).slice(-2)+'s';}t();setInterval(t,1000);";

const STYLE = 'body{font-family:system-ui,sans-serif;max-width:36em;margin:20vh auto;padding:0 1em;color:#222}';

const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/**
 * The page's own CSP. The default behaviour's policy (lib/constructs/edge-response-headers.ts, `frame-ancestors
 * 'none'`, override false) keeps an origin's CSP, so this one applies: nothing loads, only this exact script
 * and style run (by hash), and no site may frame the page.
 */
export const PAGE_CONTENT_SECURITY_POLICY =
  `default-src 'none'; script-src ${hash(ELAPSED_SCRIPT)}; style-src ${hash(STYLE)}; frame-ancestors 'none'`;

export function wakePage(coldStartMinutes: number): string {
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="refresh" content="${REFRESH_SECONDS}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>ComfyUI: GPUs are starting</title>',
    `<style>${STYLE}</style></head><body>`,
    '<h1>GPUs are starting</h1>',
    `<p>No GPU was running, so one is starting for you now: usually about ${coldStartMinutes} minute${coldStartMinutes === 1 ? '' : 's'}.</p>`,
    `<p>This page reloads itself every ${REFRESH_SECONDS} seconds and turns into ComfyUI when a GPU is ready; keep it open.</p>`,
    '<p id="elapsed"></p>',
    `<script>${ELAPSED_SCRIPT}</script>`,
    '</body></html>',
  ].join('\n');
}
