/** A 5xx from CloudFront: it has no healthy origin to forward to. */
const NO_ORIGIN = 'CloudFront cannot reach the ALB or no pod is healthy: see target-health and comfyui-pods, and the ALB security group rule from CloudFront-VPCOrigins-Service-SG';

/** What a status from the edge means, for the request and the upgrade alike. */
export function explainEdgeStatus(status: number, tokenGiven: boolean): string {
  if (status === 401 || status === 403) {
    return tokenGiven
      ? 'the edge refused the token: comfyctl users add <name> prints a new one (a WAF rule also answers 403)'
      : 'the edge asks for a token: set COMFYUI_TOKEN (comfyctl users add <name> prints one)';
  }
  if (status === 502 || status === 503 || status === 504) return NO_ORIGIN;
  return 'curl -si the URL with the same Authorization header and read the answer';
}
