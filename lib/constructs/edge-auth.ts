import { Names, Stack } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import { Construct } from 'constructs';
import { readViewerAuthSource } from '../edge/viewer-auth-source';

/**
 * Authentication at the edge: a CloudFront KeyValueStore of users (salted hashes of their tokens, written by
 * `comfyctl users`) and the viewer-request CloudFront Function that checks every request against it before
 * CloudFront forwards anything to the ALB. Users change in seconds with no deployment; nothing secret is in the
 * template: the store is created empty and the function code (lib/edge/viewer-auth.js) holds no credential.
 *
 * Design notes kept here because CloudFront counts comments toward the function's 10 KB:
 * - The function calls `cf.kvs()` without an id: runtime 2.0 then reads the one store associated with the
 *   function (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-custom-methods.html),
 *   so the code needs no synth-time substitution.
 * - Browsers sign in with Basic (password = token). WebSocket upgrades may not carry Basic, so a browser
 *   navigation that signs in with Basic is answered by a 307 to the same URL that sets the `comfyui_auth`
 *   cookie (the token, HttpOnly, Secure). The viewer-request function sets it itself rather than a
 *   viewer-response function: the documented viewer-request event is the request as the viewer sent it, while
 *   what a viewer-response function sees of a request whose Authorization was stripped is not documented, and
 *   viewer-response functions do not run on origin errors. SameSite=Lax, not Strict: after a cross-site
 *   navigation (a link in chat) a Strict cookie is withheld from the redirected request too, which would
 *   redirect forever. CSRF is not the cookie's to stop here: Basic credentials are sent cross-site anyway, and
 *   ComfyUI refuses browser requests whose Origin does not match Host.
 * - The Authorization header and the cookie are removed from every forwarded request: ComfyUI never sees a
 *   credential, so its logs and custom nodes cannot leak one.
 */
export class EdgeAuth extends Construct {
  /** Users and the salted hashes of their tokens, keyed `user:<name>`. */
  readonly usersStore: cloudfront.KeyValueStore;
  /** Runs on every viewer request of every behaviour. */
  readonly viewerRequestFunction: cloudfront.Function;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.usersStore = new cloudfront.KeyValueStore(this, 'UsersStore', {
      // Store names are unique per account across regions, like function names (which CDK prefixes with the
      // region too). Never rename it: a new name replaces the store, and every user with it.
      keyValueStoreName: `${Stack.of(this).region}-${Names.uniqueId(this)}UsersStore`,
      comment: 'ComfyUI users: salted hashes of their tokens, managed with comfyctl users',
    });
    this.viewerRequestFunction = new cloudfront.Function(this, 'ViewerAuth', {
      comment: 'ComfyUI: authenticate every viewer request against the users store',
      code: cloudfront.FunctionCode.fromInline(readViewerAuthSource()),
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      keyValueStore: this.usersStore,
    });
  }
}
