import { CORS_ALLOW_HEADERS } from '#http/cors.ts';
import type { ErrorShape } from '#http/error-envelope.ts';

/**
 * Bodies API Gateway itself sends (before any function runs), in the product's error
 * envelope rather than API Gateway's bare `{"message":"Forbidden"}`. The CDK stack sets
 * them as gateway responses; the local emulator answers with the same bodies.
 * `$context.requestId` is substituted by API Gateway (and by the emulator).
 */
export const GATEWAY_RESPONSES = {
  /** No key in either header (the authorizer's `Unauthorized`, API Gateway's UNAUTHORIZED). */
  UNAUTHORIZED: {
    statusCode: 401,
    code: 'unauthorized',
    message: 'Missing API key: send it as "Authorization: Bearer <key>" or in the x-api-key header.',
  },
  /** A key that is not one of the API's enabled keys (the authorizer's Deny, API Gateway's ACCESS_DENIED). */
  ACCESS_DENIED: {
    statusCode: 403,
    code: 'forbidden',
    message: 'Invalid API key: check the key you send (Authorization: Bearer <key>, or x-api-key).',
  },
  /** The key the authorizer allowed is in no usage plan of this stage (API Gateway's INVALID_API_KEY). */
  API_KEY_INVALID: {
    statusCode: 403,
    code: 'forbidden',
    message: 'Missing or invalid API key: send your key in the x-api-key header or as "Authorization: Bearer <key>".',
  },
  /** Usage-plan rate or burst exceeded. */
  THROTTLED: {
    statusCode: 429,
    code: 'rate_limited',
    message: 'Too many requests for this API key: slow down and retry after a moment.',
    retryAfterSeconds: 1,
  },
  /** Usage-plan quota used up. */
  QUOTA_EXCEEDED: {
    statusCode: 429,
    code: 'quota_exceeded',
    message: 'The usage-plan quota of this API key is used up for the period; retry in the next period.',
    // A static header (gateway responses cannot compute one): the daily quota resets at 00:00 UTC.
    retryAfterSeconds: 3600,
  },
  /** A body over API Gateway's 10 MB payload limit. */
  REQUEST_TOO_LARGE: {
    statusCode: 413,
    code: 'payload_too_large',
    message: 'Request body over 10 MB, the API Gateway limit: send a smaller body or split the batch.',
  },
  /** No route for this method and path. */
  NOT_FOUND: {
    statusCode: 404,
    code: 'not_found',
    message: 'No such route. See the API reference in README.md for the routes and methods.',
  },
  /** WAF blocked the request (a rule other than the rate limits, which answer WAF_RESPONSES). */
  WAF_FILTERED: {
    statusCode: 403,
    code: 'request_blocked',
    message:
      'The request was blocked by the web application firewall. If it is a legitimate request, quote the request id to support.',
  },
  /** The function did not answer within API Gateway's 29 s (a buffered route). */
  INTEGRATION_TIMEOUT: {
    statusCode: 504,
    code: 'timeout',
    message: 'The request took longer than the API allows: send fewer or shorter texts, or stream the completion.',
  },
  /** The body is not a JSON object (the gateway's request validator); the validator's reason is appended. */
  BAD_REQUEST_BODY: {
    statusCode: 400,
    code: 'invalid_request',
    message: 'The request body must be a JSON object: ',
  },
} as const;

export type GatewayResponseType = keyof typeof GATEWAY_RESPONSES;

/** A gateway response's `Retry-After`, for the 429s. */
export const retryAfterOf = (type: GatewayResponseType): number | undefined => {
  const r = GATEWAY_RESPONSES[type];
  return 'retryAfterSeconds' in r ? r.retryAfterSeconds : undefined;
};

/** OpenAI's error `type` for a status, as the `openai` client reads it (AuthenticationError, PermissionDeniedError, …). */
export const openAIErrorType = (status: number): string =>
  ({ 401: 'authentication_error', 403: 'permission_error', 404: 'not_found_error', 429: 'rate_limit_error' })[status] ??
  (status < 500 ? 'invalid_request_error' : 'server_error');

/**
 * The body the gateway answers with, in the route family's shape: OpenAI's
 * `{"error":{message,type,param,code}}` on routes whose spec says `errorShape: 'openai'`,
 * LibreTranslate's `{"error": "…"}` on `errorShape: 'libretranslate'`, the product's
 * envelope elsewhere (and where no route matched).
 */
export const gatewayErrorBody = (
  type: GatewayResponseType,
  shape: ErrorShape | undefined,
  requestId: string,
): Record<string, unknown> => {
  const r = GATEWAY_RESPONSES[type];
  if (shape === 'libretranslate') return { error: r.message };
  return shape === 'openai'
    ? { error: { message: r.message, type: openAIErrorType(r.statusCode), param: null, code: r.code } }
    : { error: { code: r.code, message: r.message, requestId } };
};

/**
 * A `$context.error.*` value inside a JSON string of a mapping template: API Gateway's
 * `$util.escapeJavaScript` escapes quotes, backslashes and control characters, and also
 * `'` as `\'`, which JSON does not allow, hence the replaceAll (a Java regex).
 */
export const vtlJsonString = (expression: string): string =>
  `$util.escapeJavaScript(${expression}).replaceAll("\\\\'","'")`;

/** The inside of a JSON string literal (no quotes). */
const jsonInner = (text: string): string => JSON.stringify(text).slice(1, -1);

/** The envelope's template: fixed code and message text, then an optional `$context` value, JSON-escaped. */
const envelopeTemplate = (code: string, message: string, dynamic?: string): string =>
  `{"error":{"code":${JSON.stringify(code)},"message":"${jsonInner(message)}${dynamic ? vtlJsonString(dynamic) : ''}","requestId":"$context.requestId"}}`;

/** OpenAI's error body as a template (the request id is in the `x-request-id` header). */
const openAITemplate = (status: number, code: string, message: string, dynamic?: string): string =>
  `{"error":{"message":"${jsonInner(message)}${dynamic ? vtlJsonString(dynamic) : ''}","type":${JSON.stringify(openAIErrorType(status))},"param":null,"code":${JSON.stringify(code)}}}`;

/** LibreTranslate's error body as a template: `{"error": "…"}`. */
const libreTemplate = (message: string, dynamic?: string): string =>
  `{"error":"${jsonInner(message)}${dynamic ? vtlJsonString(dynamic) : ''}"}`;

/**
 * The JSON body template, with `$context.requestId` where the request id goes. Given the
 * resources of the OpenAI-shaped and LibreTranslate-shaped routes, the template branches
 * on `$context.resourcePath` (a gateway response is per API, not per method) so those
 * routes get their family's shape.
 */
export const gatewayResponseTemplate = (
  type: GatewayResponseType,
  openAIResources: readonly string[] = [],
  libreResources: readonly string[] = [],
): string => {
  const r = GATEWAY_RESPONSES[type];
  const dynamic = type === 'BAD_REQUEST_BODY' ? '$context.error.validationErrorString' : undefined;
  const branches: Array<[readonly string[], string]> = [
    [openAIResources, openAITemplate(r.statusCode, r.code, r.message, dynamic)],
    [libreResources, libreTemplate(r.message, dynamic)],
  ];
  const test = (paths: readonly string[]) =>
    [...new Set(paths)].map((p) => `$context.resourcePath == ${JSON.stringify(p)}`).join(' || ');
  const shaped = branches.filter(([paths]) => paths.length > 0);
  if (shaped.length === 0) return envelopeTemplate(r.code, r.message, dynamic);
  return `${shaped.map(([paths, body], i) => `#${i === 0 ? 'if' : 'elseif'}(${test(paths)})${body}`).join('')}#{else}${envelopeTemplate(r.code, r.message, dynamic)}#end`;
};

/**
 * Every other error API Gateway answers itself (DEFAULT_4XX, DEFAULT_5XX: an unsupported
 * media type, an authorizer failure, an integration failure), in the same envelope with
 * API Gateway's own message appended; the status stays API Gateway's.
 */
export const DEFAULT_GATEWAY_RESPONSES = {
  DEFAULT_4XX: { code: 'bad_request', message: 'The API refused the request: ' },
  DEFAULT_5XX: {
    code: 'gateway_error',
    message: 'The API could not complete the request; retry, and quote the request id if it persists: ',
  },
} as const;

export const defaultGatewayResponseTemplate = (type: keyof typeof DEFAULT_GATEWAY_RESPONSES): string =>
  envelopeTemplate(
    DEFAULT_GATEWAY_RESPONSES[type].code,
    DEFAULT_GATEWAY_RESPONSES[type].message,
    '$context.error.message',
  );

/**
 * CORS headers on the gateway's own answers (a browser reads no body without them), as
 * static values: the first configured origin, as the preflight answers any other origin.
 *
 * @example
 * gatewayCorsHeaders(['https://app.example'])['access-control-allow-origin']; // => 'https://app.example'
 */
export const gatewayCorsHeaders = (origins: readonly string[]): Record<string, string> => {
  const [first = '*'] = origins;
  return {
    'access-control-allow-origin': first,
    'access-control-allow-headers': CORS_ALLOW_HEADERS.join(','),
    ...(first === '*' ? {} : { vary: 'Origin' }),
  };
};

/**
 * What WAF answers itself when its rate rules block (a custom response: static, so no
 * request id), sized to the usage plans so only a client over its plan sees it.
 */
export const WAF_RESPONSES = {
  RATE_LIMITED: {
    statusCode: 429,
    code: 'rate_limited',
    message: 'Too many requests from this API key or address: slow down and retry after a minute.',
  },
} as const;

export const wafResponseBody = (key: keyof typeof WAF_RESPONSES): string =>
  JSON.stringify({ error: { code: WAF_RESPONSES[key].code, message: WAF_RESPONSES[key].message } });

/**
 * The CORS preflight API Gateway answers itself (a mock integration on every resource,
 * from CDK's `defaultCorsPreflightOptions`). The CDK stack and the emulator both use it.
 */
export const CORS_PREFLIGHT = {
  allowMethods: ['GET', 'POST', 'OPTIONS'],
  /** The same list the routes answer with (layers/http/cors.ts). */
  allowHeaders: CORS_ALLOW_HEADERS,
  maxAgeSeconds: 3600,
} as const;

/**
 * The preflight's headers for one request origin, as CDK's mock integration computes
 * them: the first configured origin is the static `Access-Control-Allow-Origin`, another
 * configured origin is echoed back; any other origin gets the first one, which is not
 * its own, so the browser refuses the call.
 *
 * @example
 * preflightHeaders(['https://a.example', 'https://b.example'], 'https://b.example')['access-control-allow-origin']; // => 'https://b.example'
 */
export const preflightHeaders = (
  origins: readonly string[],
  requestOrigin: string | undefined,
): Record<string, string> => {
  const [first = '*', ...others] = origins;
  return {
    'access-control-allow-headers': CORS_PREFLIGHT.allowHeaders.join(','),
    'access-control-allow-origin': requestOrigin && others.includes(requestOrigin) ? requestOrigin : first,
    ...(first === '*' ? {} : { vary: 'Origin' }),
    'access-control-allow-methods': CORS_PREFLIGHT.allowMethods.join(','),
    'access-control-max-age': String(CORS_PREFLIGHT.maxAgeSeconds),
  };
};
