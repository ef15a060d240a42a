import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { apiKeyOf } from '#http/api-keys.ts';
import type { KeySource } from '#http/key-source.ts';

/**
 * What API Gateway expects from a Lambda authorizer to answer 401: throwing an error whose
 * message is exactly `Unauthorized` (the UNAUTHORIZED gateway response).
 */
export const UNAUTHORIZED = 'Unauthorized';

/**
 * The REST API a method ARN belongs to: `arn:aws:execute-api:<region>:<account>:<api>/<stage>/…`.
 *
 * @example
 * apiIdOf('arn:aws:execute-api:us-east-1:123456789012:abc123/dev/POST/v1/detect'); // => 'abc123'
 */
export const apiIdOf = (methodArn: string): string | undefined => methodArn.split(':')[5]?.split('/')[0] || undefined;

/** Every method of the stage the request came to: `arn:…:<api>/<stage>/*`. */
const stageArn = (methodArn: string): string => {
  const [apiArn, stage] = methodArn.split('/');
  return `${apiArn}/${stage}/*`;
};

const policy = (effect: 'Allow' | 'Deny', resource: string) => ({
  Version: '2012-10-17',
  Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }],
});

/**
 * The REQUEST authorizer's decision, as plain code over a key source. The key comes from
 * `x-api-key` or `Authorization: Bearer` (`apiKeyOf`, the emulator's function too):
 * - neither header → throw `Unauthorized` (401, UNAUTHORIZED);
 * - a key that is not an enabled API Gateway key → Deny (403, ACCESS_DENIED);
 * - an enabled key → Allow with `usageIdentifierKey` = the key, so the usage plans meter
 *   and throttle it as if it had come in `x-api-key` (the REST API's `apiKeySource` is
 *   AUTHORIZER), and the key's id as principal and context, with the name of its usage
 *   plan (`plan`, when the listing knows it) for the functions' per-plan allowances.
 *
 * The stack sets the authorizer's result cache to 0 s: API Gateway caches a REQUEST
 * authorizer's decision by its identity sources and refuses (401) a request missing any of
 * them, so caching by both headers would refuse clients that send one, and caching by one
 * would let a decision made for one key serve a request carrying another key in the other
 * header. What is cached is the key listing, in the function (`cachedKeySource`), looked
 * up by the key's own value, so no decision is ever shared between keys.
 */
export const authorize = async (
  event: Pick<APIGatewayRequestAuthorizerEvent, 'headers' | 'methodArn'>,
  keys: KeySource,
): Promise<APIGatewayAuthorizerResult> => {
  const value = apiKeyOf(event.headers);
  if (!value) throw new Error(UNAUTHORIZED);
  const known = await keys.lookup(value);
  if (!known?.enabled) return { principalId: 'unknown-key', policyDocument: policy('Deny', event.methodArn) };
  return {
    principalId: known.id,
    policyDocument: policy('Allow', stageArn(event.methodArn)),
    usageIdentifierKey: value,
    context: { apiKeyId: known.id, ...(known.plan?.name ? { plan: known.plan.name } : {}) },
  };
};
