import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { readWakeSettings, WAKE_ENV } from '../../../lambda/wake/settings';
import {
  GPUS_STARTING, PAGE_CONTENT_SECURITY_POLICY, REFRESH_SECONDS, RETRY_AFTER_SECONDS, wakeAnswer, wakeMessage, wantsHtml,
} from '../../../lambda/wake/wake-response';

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

describe('what a visitor gets while GPUs start', () => {
  test('a browser navigation gets a 503 page naming the estimate, refreshing itself, never cached', () => {
    const answer = wakeAnswer({ accept: BROWSER_ACCEPT, path: '/' }, 6);
    expect(answer.statusCode).toBe(503);
    expect(answer.headers).toMatchObject({ 'retry-after': '20', 'cache-control': 'no-store', 'content-type': 'text/html; charset=utf-8' });
    expect(answer.body).toContain('GPUs are starting');
    expect(answer.body).toContain('usually about 6 minutes');
    expect(answer.body).toContain(`<meta http-equiv="refresh" content="${REFRESH_SECONDS}">`);
    expect(answer.body).toContain('id="elapsed"');
  });

  test("the page's CSP allows exactly its own inline script and style, by hash, and nothing else", () => {
    const answer = wakeAnswer({ accept: BROWSER_ACCEPT, path: '/' }, 6);
    const policy = answer.headers['content-security-policy'];
    expect(policy).toBe(PAGE_CONTENT_SECURITY_POLICY);
    const sha = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
    const script = /<script>([^<]*)<\/script>/.exec(answer.body)![1];
    const style = /<style>([^<]*)<\/style>/.exec(answer.body)![1];
    expect(policy).toBe(`default-src 'none'; script-src ${sha(script)}; style-src ${sha(style)}; frame-ancestors 'none'`);
    expect(answer.body.match(/<script/g)).toHaveLength(1);
  });

  test('an API client gets the gpus_starting JSON error with the same Retry-After', () => {
    for (const accept of [undefined, 'application/json', '*/*', 'text/plain']) {
      const answer = wakeAnswer({ accept, path: '/api/system_stats' }, 1);
      expect(answer.statusCode).toBe(503);
      expect(answer.headers).toMatchObject({ 'retry-after': String(RETRY_AFTER_SECONDS), 'cache-control': 'no-store', 'content-type': 'application/json' });
      expect(JSON.parse(answer.body)).toEqual({
        error: { type: GPUS_STARTING, message: 'GPUs are starting, usually about 1 minute; retry in 20 seconds.', retry_after_seconds: 20 },
      });
    }
  });

  test('HTML only when text/html is one of the accepted types', () => {
    expect(wantsHtml('text/html')).toBe(true);
    expect(wantsHtml('application/json, text/html;q=0.5')).toBe(true);
    expect(wantsHtml('text/htmlx')).toBe(false);
    expect(wantsHtml('application/json')).toBe(false);
  });

  test('the queue message says who, where and when (epoch seconds)', () => {
    expect(wakeMessage({ user: 'alice', path: '/', accept: 'x' }, 1_767_600_000_999)).toEqual({ user: 'alice', path: '/', t: 1_767_600_000 });
    expect(wakeMessage({ path: '/x' }, 0)).toEqual({ user: null, path: '/x', t: 0 });
  });
});

describe('settings come from the environment, and errors name the variable', () => {
  const good = { [WAKE_ENV.queueUrl]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/comfyui-wake', [WAKE_ENV.coldStartMinutes]: '6' };

  test('a complete environment', () => {
    expect(readWakeSettings(good)).toEqual({ queueUrl: good[WAKE_ENV.queueUrl], coldStartMinutes: 6 });
  });

  test.each([
    [{ ...good, [WAKE_ENV.queueUrl]: undefined }, /WAKE_QUEUE_URL must be the wake queue's URL/],
    [{ ...good, [WAKE_ENV.coldStartMinutes]: '0' }, /COLD_START_ESTIMATE_MINUTES must be whole minutes 1\.\.60.*got '0'/],
    [{ ...good, [WAKE_ENV.coldStartMinutes]: 'six' }, /COLD_START_ESTIMATE_MINUTES/],
  ])('refused: %o', (env, message) => {
    expect(() => readWakeSettings(env)).toThrow(message);
  });
});
