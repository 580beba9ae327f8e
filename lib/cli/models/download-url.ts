/**
 * The hosts a plain-http download may name: this machine's loopback interface, whose traffic never crosses
 * a network (the seed tests' local file servers, a local mirror). Matched exactly: 127.0.0.2 is not here.
 */
export const PLAIN_HTTP_HOSTS: readonly string[] = ['127.0.0.1', 'localhost', '[::1]'];

/**
 * Whether a model (or a token) may travel over `url`: https, or http to a loopback host. Over plain http
 * across a network, anyone on the path can swap the model for another file, and a checkpoint is code
 * enough to matter (pickled .ckpt/.pt files run on load).
 */
export function isSecureDownloadUrl(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && PLAIN_HTTP_HOSTS.includes(url.hostname));
}
