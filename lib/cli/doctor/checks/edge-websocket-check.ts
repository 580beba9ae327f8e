import { CheckVerdict, failed, passed, warned } from '../check-verdict';
import { DoctorFacts } from '../doctor-facts';
import { explainEdgeStatus } from '../edge-status';

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
    : explainEdgeStatus(status, tokenGiven);
  return failed(NAME, `the upgrade of ${url}ws was refused: ${why}`, next);
}
