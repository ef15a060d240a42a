import type { APIGatewayProxyEvent } from 'aws-lambda';
import { proxyEvent } from '#local/events.ts';

/**
 * A REST proxy event as API Gateway sends it to a function for one route (the emulator's
 * builder), with a JSON body when given.
 *
 * @example
 * apiEvent('POST', '/v1/predict', { text: 'hi' }).httpMethod; // => 'POST'
 */
export const apiEvent = (method: string, path: string, body?: unknown): APIGatewayProxyEvent =>
  proxyEvent({
    method,
    resource: path,
    path,
    pathParameters: null,
    headers: { 'content-type': 'application/json', 'x-api-key': 'test-key', host: 'api.example.com' },
    query: new URLSearchParams(),
    body: body === undefined ? null : JSON.stringify(body),
    apiKeyId: 'test-key-id',
  });
