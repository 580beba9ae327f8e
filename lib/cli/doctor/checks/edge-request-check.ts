import { CheckVerdict, failed, passed, warned } from '../check-verdict';
import { DoctorFacts } from '../doctor-facts';
import { explainEdgeStatus } from '../edge-status';

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
  return failed(NAME, `GET ${url}system_stats answered ${request.ok.status}`, explainEdgeStatus(request.ok.status, tokenGiven));
}
