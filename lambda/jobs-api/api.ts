import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { JobsApiError } from '../../lib/jobs/api-error';
import type { JobsApiDeps } from './deps';
import { ApiRequest, ApiResponse, callerOf, parseJsonBody, readRequest, writeResponse } from './http';
import { cancelJob, Caller, getJob, listJobs, submitJob } from './job-operations';
import { routeRequest } from './router';
import { deleteTemplate, listTemplates, publishTemplate, showTemplate } from './template-operations';

async function dispatch(deps: JobsApiDeps, request: ApiRequest): Promise<ApiResponse> {
  const user = callerOf(request);
  const route = routeRequest(request.method, request.path);
  const caller: Caller = { user, admin: deps.config.admins.has(user) };
  const param = route.param ?? '';
  switch (route.operation) {
    case 'submitJob': return submitJob(deps, caller, parseJsonBody(request), request.headers['idempotency-key']);
    case 'listJobs': return listJobs(deps, caller, request.query);
    case 'getJob': return getJob(deps, caller, param);
    case 'cancelJob': return cancelJob(deps, caller, param);
    case 'publishTemplate': return publishTemplate(deps, caller, param, parseJsonBody(request));
    case 'listTemplates': return listTemplates(deps);
    case 'showTemplate': return showTemplate(deps, param);
    case 'deleteTemplate': return deleteTemplate(deps, param);
    case 'getWebhookSecret': return { status: 200, body: { secret: await deps.secrets.getOrCreate(user) } };
    case 'rotateWebhookSecret': return { status: 200, body: { secret: await deps.secrets.rotate(user) } };
  }
}

/** One function URL request -> its answer; refusals become `{"error": ...}`, anything else a logged 500. */
export async function handleJobsApiEvent(event: APIGatewayProxyEventV2, deps: JobsApiDeps): Promise<APIGatewayProxyStructuredResultV2> {
  try {
    return writeResponse(await dispatch(deps, readRequest(event)));
  } catch (error) {
    if (error instanceof JobsApiError) return writeResponse({ status: error.status, body: error.toBody() });
    deps.logger.error('Jobs API request failed', { error: error as Error, path: event.rawPath });
    return writeResponse({ status: 500, body: { error: { type: 'internal', message: 'Internal error; see the function log' } } });
  }
}
