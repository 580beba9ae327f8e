import { CheckVerdict, failed, passed, warned } from '../check-verdict';
import { DoctorFacts } from '../doctor-facts';

const NO_ORIGIN = 'CloudFront cannot reach the ALB or no pod is healthy: see target-health and comfyui-pods, and the ALB security group rule from CloudFront-VPCOrigins-Service-SG';

/** What a status from the edge means, for the request and the upgrade alike. */
function explainStatus(status: number, tokenGiven: boolean): string {
  if (status === 401 || status === 403) {
    return tokenGiven
      ? 'the edge refused the token: comfyctl users add <name> prints a new one (a WAF rule also answers 403)'
      : 'the edge asks for a token: set COMFYUI_TOKEN (comfyctl users add <name> prints one)';
  }
  if (status === 502 || status === 503 || status === 504) return NO_ORIGIN;
  return 'curl -si the URL with the same Authorization header and read the answer';
}

/** An authenticated GET /system_stats through CloudFront answers 200. */
export function checkEdgeRequest(facts: DoctorFacts): CheckVerdict {
  const NAME = 'edge-request';
  if ('error' in facts.edge) return failed(NAME, facts.edge.error, 'pass --url or --outputs with CloudFrontEntry.CloudFrontUrl');
  const { url, tokenGiven, request } = facts.edge.ok;
  if ('error' in request) return failed(NAME, `${url}: ${request.error}`, 'check the URL and your network (is CloudFrontEntry deployed?)');
  if (request.ok.status === 200) {
    const auth = tokenGiven ? 'with the token' : 'without a token';
    return tokenGiven ? passed(NAME, `GET ${url}system_stats answered 200 ${auth}`)
      : warned(NAME, `GET ${url}system_stats answered 200 ${auth}: the edge lets anyone in`, 'turn edge auth on (README, Access control) unless this is intended');
  }
  return failed(NAME, `GET ${url}system_stats answered ${request.ok.status}`, explainStatus(request.ok.status, tokenGiven));
}

/** A WebSocket upgrade of /ws through CloudFront opens (progress messages reach the browser and comfyctl). */
export function checkEdgeWebSocket(facts: DoctorFacts): CheckVerdict {
  const NAME = 'edge-websocket';
  if ('error' in facts.edge) return warned(NAME, 'not checked: no URL', 'pass --url or --outputs');
  const { url, tokenGiven, webSocket } = facts.edge.ok;
  if ('error' in webSocket) return failed(NAME, `${url}ws: ${webSocket.error}`, 'check the URL and your network');
  if (webSocket.ok.opened) return passed(NAME, `${url.replace(/^http/, 'ws')}ws upgraded and opened`);
  const status = webSocket.ok.status;
  if (status === undefined) return failed(NAME, `${url}ws unreachable: ${webSocket.ok.reason ?? 'no HTTP answer'}`, 'check the URL and your network');
  const why = `HTTP ${status}`;
  const next = status === 200 || status === 400 || status === 426
    ? "CloudFront's ComfyUI behavior must forward the WebSocket headers (Upgrade, Sec-WebSocket-*) to the origin: redeploy CloudFrontEntry"
    : explainStatus(status, tokenGiven);
  return failed(NAME, `the upgrade of ${url}ws was refused: ${why}`, next);
}
