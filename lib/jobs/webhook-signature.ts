import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures (docs/jobs.md, "Webhooks"): `sha256=<hex HMAC-SHA256 of the raw body>` with the owner's
 * secret, the scheme GitHub uses for X-Hub-Signature-256
 * (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries).
 */
const PREFIX = 'sha256=';

export function signWebhookBody(body: string | Buffer, secret: string): string {
  return PREFIX + createHmac('sha256', secret).update(body).digest('hex');
}

/** Constant-time check of a received signature header against the body; false for any malformed header. */
export function verifyWebhookSignature(body: string | Buffer, header: string | undefined, secret: string): boolean {
  if (header === undefined || !header.startsWith(PREFIX)) return false;
  const expected = Buffer.from(signWebhookBody(body, secret));
  const received = Buffer.from(header);
  return expected.length === received.length && timingSafeEqual(expected, received);
}
