import { GATEWAY_RESPONSES } from '#functions/gateway-responses.ts';
import { apiKeyOf } from '#http/api-keys.ts';
import { dynamoKeySource } from '#http/key-mirror.ts';
import type { KeySource } from '#http/key-source.ts';
import type { ApiEvent } from '#http/types.ts';
import { requestPathClient } from '#predictions/dynamo.ts';
import { meterRequest } from '#predictions/usage.ts';
import { config } from '#runtime/config.ts';
import { AppError } from '#runtime/errors.ts';

/**
 * The key step of the routes whose spec says `auth: 'headerOrBody'` (LibreTranslate's
 * `POST /translate` and `POST /detect`): keyless at the gateway, because a REST authorizer
 * never sees the body and LibreTranslate's clients (Mastodon, LibreTranslate-py, the browser
 * extensions) send the key as `api_key` in it. See docs/keys.md.
 */

/** Seconds a client is asked to wait when the key table cannot be read. */
const KEY_CHECK_RETRY_SECONDS = 5;

let source: KeySource | undefined;
/**
 * The mirror of API Gateway's keys and plans in DynamoDB (`API_KEYS_TABLE`, layers/http/key-mirror.ts):
 * filled by the key-sync function in AWS and by the emulator from its keys locally, read through
 * the VPC's DynamoDB gateway endpoint.
 */
const keySource = (): KeySource => {
  source ??= dynamoKeySource(requestPathClient(config()), config().API_KEYS_TABLE);
  return source;
};

/** The key a request carries: `x-api-key` or `Authorization: Bearer` first (`apiKeyOf`), else the body's `api_key`. */
export const bodyOrHeaderKey = (headers: ApiEvent['headers'], body: unknown): string | undefined => {
  const fromHeaders = apiKeyOf(headers);
  if (fromHeaders) return fromHeaders;
  const field = (body as { api_key?: unknown } | null | undefined)?.api_key;
  return typeof field === 'string' && field.trim() ? field.trim() : undefined;
};

/**
 * Checks a body-keyed request's key as the authorizer would (401 none, 403 unknown, disabled or
 * in no usage plan), counts it against its plan's burst, rate and daily quota (429 past them,
 * `meterRequest`), and puts its id where a gateway-keyed request has it
 * (`requestContext.identity.apiKeyId`) and its plan's name where the authorizer puts it
 * (`requestContext.authorizer.plan`): records and fair use then see the same id and plan whichever
 * way the key came, so one key never gets two allowances.
 */
export const authenticateBodyKey = async (event: ApiEvent, keys: KeySource = keySource()): Promise<string> => {
  const value = bodyOrHeaderKey(event.headers, event.body);
  if (!value) {
    throw new AppError(
      401,
      'unauthorized',
      'Missing API key: send it as api_key in the body, as "Authorization: Bearer <key>" or in the x-api-key header.',
    );
  }
  const known = await keys.lookup(value).catch((error: unknown) => {
    // Fail closed, but as a retryable 503 rather than a 500: the key may well be good.
    throw new AppError(
      503,
      'key_check_unavailable',
      `The API key could not be checked just now; retry in ${KEY_CHECK_RETRY_SECONDS} seconds.`,
      { cause: error, headers: { 'Retry-After': String(KEY_CHECK_RETRY_SECONDS) } },
    );
  });
  if (!known?.enabled || !known.plan) throw new AppError(403, 'forbidden', GATEWAY_RESPONSES.ACCESS_DENIED.message);
  await meterRequest(known.id, known.plan);
  event.requestContext.identity = { ...event.requestContext.identity, apiKeyId: known.id };
  // Where the authorizer puts a header-keyed request's plan: fair use reads it there (planOf).
  event.requestContext.authorizer = {
    ...event.requestContext.authorizer,
    apiKeyId: known.id,
    ...(known.plan.name ? { plan: known.plan.name } : {}),
  };
  return known.id;
};
