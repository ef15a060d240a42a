import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { apiGatewayKeySource } from '#http/key-source.ts';
import { apiIdOf, authorize } from './authorize.ts';

/**
 * The REST API's REQUEST authorizer (`infra/lib/constructs/api.ts`): the key from
 * `x-api-key` or `Authorization: Bearer`, checked against API Gateway's own enabled keys
 * and the plans of this API (listed once a minute per instance), returned as
 * `usageIdentifierKey` so the usage plans still meter it, with the key's plan in the context. The decision itself is `authorize` (`authorize.ts`), tested with a fake
 * key source.
 */
export const handler = (event: APIGatewayRequestAuthorizerEvent) =>
  authorize(event, apiGatewayKeySource(apiIdOf(event.methodArn)));
