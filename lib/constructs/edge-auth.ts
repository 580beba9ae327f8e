import { Names, Stack } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import { Construct } from 'constructs';
import { readViewerAuthSource } from '../edge/viewer-auth-source';

export interface EdgeAuthProps {
  /**
   * The ALB's and the wake page's origin ids (EdgeDistribution): after authentication, a GET or HEAD outside the
   * jobs API that the ALB answers 502/503/504 (no pod ready) fails over to the wake page (docs/scaling-design.md
   * section 4). @default none: autoscaling off, every request goes to its behaviour's origin
   */
  readonly wakeOriginIds?: readonly [string, string];
}

/**
 * Authentication at the edge: a CloudFront KeyValueStore of users (salted hashes of their tokens, written by
 * `comfyctl users`) and the viewer-request CloudFront Function that checks every request against it before
 * CloudFront forwards anything to the ALB. Users change in seconds with no deployment; nothing secret is in the
 * template: the store is created empty and the function code (lib/edge/viewer-auth.js) holds no credential.
 *
 * Design notes kept here because CloudFront counts comments toward the function's 10 KB:
 * - What it accepts: a user token `<user>.<secret>` as `Authorization: Bearer` or Basic `<user>:<token>` (browsers),
 *   or the session cookie `<user>.<expiry>.<MAC>` (set on `/` for the WebSocket, which may not resend Basic). No valid
 *   credential: 401. A write or WebSocket upgrade from another site on Basic or the cookie (browsers attach them to
 *   any site's requests): 403. A refused request is never forwarded.
 * - Identity (docs/jobs.md): every forwarded request carries `x-comfyui-user` (IDENTITY_HEADER) set to the user it
 *   verified, replacing whatever the client sent, so the jobs API (and ComfyUI) can trust it: the jobs API's function
 *   URL accepts only this distribution's signed requests. A POST, PUT or PATCH under the jobs API prefix without
 *   `x-amz-content-sha256: <lowercase hex SHA-256 of the body>` is answered 400 naming the header, since Lambda refuses
 *   an origin-access-control request without the payload's hash
 *   (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-lambda.html);
 *   after authentication, so it tells an anonymous caller nothing.
 * - The function calls `cf.kvs()` without an id: runtime 2.0 then reads the one store associated with the
 *   function (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-custom-methods.html),
 *   so the code needs no synth-time substitution.
 * - Browsers sign in with Basic (password = token). WebSocket upgrades may not carry Basic, so a browser
 *   navigation to `/` (the UI) that signs in with Basic is answered by a 307 to `/` that sets the
 *   `__Host-comfyui_auth` cookie (a session, below; HttpOnly, Secure, Path=/, no Domain, which the `__Host-` prefix
 *   makes the browser enforce, so no sibling host can set or shadow it). The Location is fixed, never built from the
 *   request; other paths pass on their Basic credentials. The viewer-request function sets the cookie itself
 *   rather than a viewer-response function: the documented viewer-request event is the request as the viewer
 *   sent it, while what a viewer-response function sees of a request whose Authorization was stripped is not
 *   documented, and viewer-response functions do not run on origin errors. The cookie's name before the prefix,
 *   `comfyui_auth`, is no credential any more and is still removed from every request. SameSite=Lax, not
 *   Strict: after a cross-site navigation (a link in chat) a Strict cookie is withheld from the redirected request
 *   too, which would redirect forever.
 * - Cross-site requests (CSRF). SameSite=Lax does not cover them: browsers resend cached Basic credentials on a
 *   cross-site top-level form POST, Lax would still send the cookie from a sibling host of a custom domain
 *   (same site), ComfyUI's own Origin check applies only when Host is a loopback address, and its handlers read
 *   JSON whatever the Content-Type (a form can send text/plain). So the function refuses, with 403, a request authenticated by
 *   Basic or by the cookie (credentials the browser attaches by itself) whose method is not GET, HEAD or OPTIONS,
 *   or that upgrades to a WebSocket, unless it comes from this origin: `Sec-Fetch-Site`, if sent, must be
 *   `same-origin` (`same-site` is a sibling host; `none`, a typed or bookmarked URL, is never a write the UI
 *   makes), and `Origin`, if sent, must be `https://` + the request's Host (the distribution's name as the browser
 *   addressed it, case-insensitive). A request with neither is refused too: browsers send Origin on every POST,
 *   fetch() write and WebSocket (Chrome, Firefox and Safari also Sec-Fetch-Site), so only a non-browser client
 *   lacks both, and those use Bearer. Repeated or empty values are refused. Bearer requests are unchanged: a page
 *   cannot make a browser attach one, and a cross-site fetch() that sets Authorization needs a CORS preflight,
 *   which has no credential and gets 401. GET, HEAD and OPTIONS stay open to cross-site navigations (links,
 *   bookmarks) since the page that starts them cannot read the answer; ComfyUI's routes change state only on POST
 *   and DELETE (a custom node that changes state on GET is not protected by this rule).
 * - Stored script: `/view` and `/userdata` serve uploads inline with a type from the file name, so an uploaded
 *   `.svg` opened as a page would run on this origin. Those paths get a sandboxing CSP (EdgeResponseHeaders); a
 *   path that percent-encodes an unreserved character is refused with 400, because ComfyUI's router decodes it
 *   (`/%76iew` is `/view`) and it could reach ComfyUI through the default behaviour, without the sandbox.
 * - Sessions (security review, Low 12). The cookie never holds the token: it holds `<user>.<expiry>.<MAC>`, the
 *   expiry 12 hours after sign-in (SESSION_SECONDS in the function, also the cookie's Max-Age) and the MAC a
 *   base64url HMAC-SHA256 over `<user>.<expiry>.<the user's stored hash>`, keyed by `session:key` in the same
 *   store (lib/edge/session-key.ts). Binding the user's stored hash means a rotation or removal, which changes or
 *   deletes it, ends that user's sessions at their next request with no session list to keep; rotating the key
 *   (`comfyctl users rotate-session-key`) ends everyone's. The function refuses (401) a session that is expired,
 *   claims more than 12 hours left, or whose MAC does not match; a cookie that is not session-shaped (such as a
 *   token set before sessions existed) counts as no cookie, so a Basic navigation replaces it with a session. The
 *   key name is outside the `user:` prefix and holds a ':', which no user name may, so no user can take it. Without
 *   a usable key the function mints and accepts no session (Basic and Bearer work; the UI's WebSocket may not)
 *   and logs a line naming the fix; CloudFront sends console.log to CloudWatch Logs in us-east-1
 *   (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/edge-functions-logs.html), and
 *   `comfyctl users ls` warns too. The catch: whoever can read the store can now forge sessions (before, a store
 *   dump held only hashes), so guard cloudfront-keyvaluestore:GetKey and ListKeys like PutKey; rotating the key
 *   ends forged sessions. The function checks the store on every request, so removing or rotating a user stops
 *   new requests within seconds, but a WebSocket opened before stays open until it closes (tab closed, network
 *   change, pod restart): it carries only that client's progress and previews and the queue size; every action
 *   is a new, checked HTTP request.
 * - The Authorization header and the cookie are removed from every forwarded request: ComfyUI never sees a
 *   credential, so its logs and custom nodes cannot leak one.
 */
export class EdgeAuth extends Construct {
  /** Users and the salted hashes of their tokens, keyed `user:<name>`, and the session signing key, `session:key`. */
  readonly usersStore: cloudfront.KeyValueStore;
  /** Runs on every viewer request of every behaviour. */
  readonly viewerRequestFunction: cloudfront.Function;

  constructor(scope: Construct, id: string, props: EdgeAuthProps = {}) {
    super(scope, id);
    this.usersStore = new cloudfront.KeyValueStore(this, 'UsersStore', {
      // Store names are unique per account across regions, like function names (which CDK prefixes with the
      // region too). Never rename it: a new name replaces the store, and every user with it.
      keyValueStoreName: `${Stack.of(this).region}-${Names.uniqueId(this)}UsersStore`,
      comment: 'ComfyUI users: salted hashes of their tokens, managed with comfyctl users',
    });
    this.viewerRequestFunction = new cloudfront.Function(this, 'ViewerAuth', {
      comment: 'ComfyUI: authenticate every viewer request against the users store',
      code: cloudfront.FunctionCode.fromInline(readViewerAuthSource({ wakeOriginIds: props.wakeOriginIds })),
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      keyValueStore: this.usersStore,
    });
  }
}
