import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** Lambda function URL request (payload format 2.0) -> jobs API answer. Placeholder until the routes land. */
export const handler = async (_event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => ({
  statusCode: 503,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ error: { type: 'unavailable', message: 'The jobs API is not implemented yet' } }),
});
