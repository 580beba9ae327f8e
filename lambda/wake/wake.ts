import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { IDENTITY_HEADER } from '../../lib/jobs/contract';
import type { WakeDeps } from './deps';
import { wakeAnswer, wakeMessage, WakeRequest } from './wake-response';

/**
 * One visit while no ComfyUI pod answers (CloudFront failed over here from the ALB): count it as demand on the wake
 * queue, then answer the page or the JSON. A queue failure is logged and the visitor still gets the answer: the
 * page's next reload is another try, and the jobs queue and sessions also wake GPUs.
 */
export async function handleWakeEvent(event: APIGatewayProxyEventV2, deps: WakeDeps): Promise<APIGatewayProxyStructuredResultV2> {
  const headers = event.headers ?? {};
  const request: WakeRequest = { accept: headers.accept, user: headers[IDENTITY_HEADER], path: event.rawPath || '/' };
  try {
    await deps.sendWake(wakeMessage(request, deps.now()));
  } catch (error) {
    deps.logger.error('could not send to the wake queue; answering the page anyway', { error: error as Error, path: request.path });
  }
  const answer = wakeAnswer(request, deps.settings.coldStartMinutes);
  return { statusCode: answer.statusCode, headers: answer.headers, body: answer.body };
}
