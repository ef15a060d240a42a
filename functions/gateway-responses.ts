import { CORS_ALLOW_HEADERS } from '#http/cors.ts';

/**
 * Bodies API Gateway itself sends (before any function runs), in the product's error
 * envelope rather than API Gateway's bare `{"message":"Forbidden"}`. The CDK stack sets
 * them as gateway responses; the local emulator answers with the same bodies.
 * `$context.requestId` is substituted by API Gateway (and by the emulator).
 */
export const GATEWAY_RESPONSES = {
  /** Missing or unknown `x-api-key`. */
  API_KEY_INVALID: {
    statusCode: 403,
    code: 'forbidden',
    message: 'Missing or invalid API key: send your key in the x-api-key header.',
  },
  /** Usage-plan rate or burst exceeded. */
  THROTTLED: {
    statusCode: 429,
    code: 'rate_limited',
    message: 'Too many requests for this API key: slow down and retry after a moment.',
  },
  /** Usage-plan quota used up. */
  QUOTA_EXCEEDED: {
    statusCode: 429,
    code: 'quota_exceeded',
    message: 'The usage-plan quota of this API key is used up for the period; retry in the next period.',
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
} as const;

export type GatewayResponseType = keyof typeof GATEWAY_RESPONSES;

/** The JSON body template, with `$context.requestId` where the request id goes. */
export const gatewayResponseTemplate = (type: GatewayResponseType): string => {
  const r = GATEWAY_RESPONSES[type];
  return JSON.stringify({ error: { code: r.code, message: r.message, requestId: '$context.requestId' } });
};

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
