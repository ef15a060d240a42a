/**
 * The request headers a browser may send to the API: the JSON content type, the API key
 * in `x-api-key`, `Authorization` (the OpenAI clients always send `Bearer <key>`) and
 * `X-Request-Id`. One list for the routes' CORS answers (layers/http/api.ts) and the
 * preflight API Gateway answers itself (functions/gateway-responses.ts: the CDK stack's
 * mock integration and the emulator), so a header the preflight allows is one the routes
 * allow too.
 */
export const CORS_ALLOW_HEADERS = ['Content-Type', 'X-Api-Key', 'Authorization', 'X-Request-Id'] as const;
