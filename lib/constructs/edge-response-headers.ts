import { Duration, Names, Stack } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import { Construct } from 'constructs';

/**
 * Where ComfyUI serves files as they were uploaded or written, with a Content-Type guessed from the file name and
 * no Content-Disposition: attachment: `/view` (inputs, outputs, temp files; the web UI calls it as `/api/view`) and
 * `/userdata/<file>` (workflows and settings, writable by every user). An `.svg` or `.html` uploaded there and
 * opened as a page would run its script on the ComfyUI origin, so these paths get the sandboxing policy below.
 * Path patterns are case-sensitive, like ComfyUI's routes; `/view*` also covers `/view_metadata/...` (JSON). A
 * path that percent-encodes a letter (`/%76iew`) is refused by the viewer-request function: ComfyUI's router
 * decodes it, so it could otherwise reach /view through the default behaviour.
 */
export const USER_FILE_PATH_PATTERNS = ['/view*', '/api/view*', '/userdata/*', '/api/userdata/*'] as const;

/**
 * The web UI's policy: no framing by any site (clickjacking), and nothing else, so the UI and custom nodes' scripts,
 * styles and connections work as ComfyUI ships them.
 */
export const UI_CONTENT_SECURITY_POLICY = "frame-ancestors 'none'";

/**
 * A user file opened as a page: `sandbox` (no allow-scripts) gives it an opaque origin and no script, so it can
 * neither run code nor read the UI's cookies, storage or API; `default-src 'none'` stops it loading anything but
 * images and media (an SVG's own images and inline styles still render). Framing only by the UI itself, where the
 * sandbox still holds. `<img>`, `<video>` and fetch() ignore a response's CSP, so the UI shows files as before.
 */
export const USER_FILE_CONTENT_SECURITY_POLICY = [
  'sandbox',
  "default-src 'none'",
  "img-src 'self' data: blob:",
  "media-src 'self' data: blob:",
  "style-src 'unsafe-inline'",
  "frame-ancestors 'self'",
].join('; ');

/**
 * HSTS for two years with subdomains, as https://hstspreload.org/#deployment-recommendations advises (one year is
 * its minimum); not marked for preloading: that is a domain owner's call, and *.cloudfront.net is not ours.
 */
export const HSTS_MAX_AGE = Duration.days(730);

/**
 * The response headers CloudFront adds to ComfyUI's answers (https://docs.aws.amazon.com/AmazonCloudFront/latest/
 * DeveloperGuide/adding-response-headers.html): `ui` on the default behaviour, `userFiles` on USER_FILE_PATH_PATTERNS.
 * Both set `X-Content-Type-Options: nosniff` (an upload is never sniffed into script or style), HSTS and
 * `Referrer-Policy: same-origin` (file names and prompt ids in URLs stay on this site). Not `no-referrer`: under it
 * a browser sends `Origin: null` on a same-origin form POST (Fetch standard, "append a request `Origin` header"),
 * which the edge's cross-site check refuses when the browser sends no Sec-Fetch-Site either.
 */
export class EdgeResponseHeaders extends Construct {
  /** The default behaviour's: the web UI and the API. */
  readonly ui: cloudfront.ResponseHeadersPolicy;
  /** The USER_FILE_PATH_PATTERNS behaviours': files users upload or workflows write, sandboxed. */
  readonly userFiles: cloudfront.ResponseHeadersPolicy;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.ui = this.policy('Ui', 'ComfyUI web UI: no framing, nosniff, HSTS', {
      // An origin's own CSP wins (override false): should ComfyUI send one, it is kept, and X-Frame-Options still
      // denies framing.
      contentSecurityPolicy: { contentSecurityPolicy: UI_CONTENT_SECURITY_POLICY, override: false },
      frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
    });
    this.userFiles = this.policy('UserFiles', 'ComfyUI /view and /userdata files: sandboxed, nosniff, HSTS', {
      contentSecurityPolicy: { contentSecurityPolicy: USER_FILE_CONTENT_SECURITY_POLICY, override: true },
      frameOptions: { frameOption: cloudfront.HeadersFrameOption.SAMEORIGIN, override: true },
    });
  }

  private policy(
    id: string,
    comment: string,
    framing: Pick<cloudfront.ResponseSecurityHeadersBehavior, 'contentSecurityPolicy' | 'frameOptions'>,
  ): cloudfront.ResponseHeadersPolicy {
    return new cloudfront.ResponseHeadersPolicy(this, id, {
      // Policy names are unique per account, whatever the region (like the users store's): the region keeps two
      // deployments of this app in one account apart.
      responseHeadersPolicyName: `${Stack.of(this).region}-${Names.uniqueResourceName(this, { maxLength: 90 })}${id}`,
      comment,
      securityHeadersBehavior: {
        ...framing,
        contentTypeOptions: { override: true },
        strictTransportSecurity: { accessControlMaxAge: HSTS_MAX_AGE, includeSubdomains: true, preload: false, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.SAME_ORIGIN, override: true },
      },
    });
  }
}
