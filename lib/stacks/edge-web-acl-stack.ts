import { Stack, StackProps, Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { EdgeWebAcl } from '../constructs/edge-web-acl';

/** The only region where CloudFront-scoped web ACLs can be created. */
export const CLOUDFRONT_WEB_ACL_REGION = 'us-east-1';

export interface EdgeWebAclStackProps extends StackProps {
  /** Requests one client IP may send in five minutes. */
  readonly rateLimitPer5Minutes: number;
}

/**
 * The web ACL of the ComfyUI distribution, in its own us-east-1 stack so the rest of the app can live in any
 * region. CloudFrontEntry reads the ACL's ARN through CDK's cross-region references (an SSM parameter written
 * into CloudFrontEntry's region at deploy time), so both stacks enable `crossRegionReferences`.
 */
export class EdgeWebAclStack extends Stack {
  readonly edgeWebAcl: EdgeWebAcl;

  constructor(scope: Construct, id: string, props: EdgeWebAclStackProps) {
    super(scope, id, { ...props, crossRegionReferences: true });
    if (!Token.isUnresolved(this.region) && this.region !== CLOUDFRONT_WEB_ACL_REGION) {
      throw new Error(`${id} must be deployed to ${CLOUDFRONT_WEB_ACL_REGION}, the only region of CloudFront web ACLs; got ${this.region}`);
    }
    this.edgeWebAcl = new EdgeWebAcl(this, 'EdgeWebAcl', { rateLimitPer5Minutes: props.rateLimitPer5Minutes });
  }
}
