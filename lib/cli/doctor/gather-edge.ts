import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { ComfyuiClient } from '../comfyui/comfyui-client';
import { SourceAnswer } from '../models/sync-report-sources';
import { EdgeFacts } from './doctor-facts';

/** Each probe's limit: CloudFront answers in well under a second when the origin is healthy. */
const PROBE_TIMEOUT_MS = 15_000;

function reasonOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if ((error as Error).name === 'TimeoutError') return `no answer in ${PROBE_TIMEOUT_MS / 1000} s`;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

/**
 * GET /system_stats with the same credentials every comfyctl command sends. A connection reset before any answer
 * is tried once more: fetch may reuse a pooled keep-alive connection the server closed meanwhile, and one idempotent
 * GET again says more than a false FAIL.
 */
async function probeRequest(client: ComfyuiClient, retries = 1): Promise<SourceAnswer<{ status: number }>> {
  try {
    const response = await fetch(client.url('system_stats'), { headers: client.headers(), signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await response.arrayBuffer().catch(() => undefined);
    return { ok: { status: response.status } };
  } catch (error) {
    if (retries > 0 && reasonOf(error) === 'ECONNRESET') return probeRequest(client, retries - 1);
    return { error: `unreachable: ${reasonOf(error)}` };
  }
}

/** Opens /ws as `comfyctl invoke` does (same URL and headers), then closes it; refused upgrades keep their status. */
function probeWebSocket(client: ComfyuiClient): Promise<SourceAnswer<{ opened: boolean; status?: number; reason?: string }>> {
  return new Promise((resolve) => {
    const socket = new WebSocket(client.websocketUrl(`comfyctl-doctor-${randomUUID()}`), { headers: client.headers(), handshakeTimeout: PROBE_TIMEOUT_MS });
    socket.once('open', () => {
      resolve({ ok: { opened: true } });
      socket.close();
    });
    socket.once('unexpected-response', (_request, response) => {
      resolve({ ok: { opened: false, status: response.statusCode } });
      response.resume();
      socket.terminate();
    });
    socket.once('error', (error) => resolve({ ok: { opened: false, reason: reasonOf(error) } }));
  });
}

/** Both probes through the edge at `url`. */
export async function readEdgeFacts(url: string, token: string | undefined): Promise<EdgeFacts> {
  const client = new ComfyuiClient({ url, token });
  const [request, webSocket] = await Promise.all([probeRequest(client), probeWebSocket(client)]);
  return { url: client.baseUrl.toString(), tokenGiven: Boolean(token), request, webSocket };
}
