import { normalizedResponse, onEveryAnswer, type ResponseHeaders } from './response.ts';
import type { ApiMiddleware } from './types.ts';

/**
 * The request headers a browser may send to the API: the JSON content type, the API key
 * in `x-api-key`, `Authorization` (the OpenAI clients always send `Bearer <key>`) and
 * `X-Request-Id`. One list for the routes' CORS answers (layers/http/api.ts) and the
 * preflight API Gateway answers itself (functions/gateway-responses.ts: the CDK stack's
 * mock integration and the emulator), so a header the preflight allows is one the routes
 * allow too.
 */
export const CORS_ALLOW_HEADERS = ['Content-Type', 'X-Api-Key', 'Authorization', 'X-Request-Id'] as const;

const ALLOW_ORIGIN = 'Access-Control-Allow-Origin';
const ALLOW_HEADERS = 'Access-Control-Allow-Headers';
const ALLOW_CREDENTIALS = 'Access-Control-Allow-Credentials';

export interface CorsOptions {
  /** The allowed origins: exact, `*` (any), or with `*` for one label (`https://*.example.com`). */
  origins: readonly string[];
  /** Answered when `origins` is empty (and also allowed, as @middy/http-cors takes it). */
  origin?: string;
  /** `Access-Control-Allow-Headers`, unless the response sets its own. */
  headers?: string;
}

/** Appends `value` to a comma-separated header, under the lowercase name when the response uses it. */
const addHeaderPart = (headers: ResponseHeaders, header: string, value: string): void => {
  const lower = header.toLowerCase();
  const name = headers[lower] ? lower : header;
  const current = headers[name];
  headers[name] = current ? `${current}, ${value}` : value;
};

/**
 * The CORS headers of a route's answer, as @middy/http-cors (6.x) adds them with these
 * options and its defaults (no preflight answer in the function: API Gateway answers
 * `OPTIONS` itself, functions/gateway-responses.ts), with the origin tables built once per
 * configuration. Middy's middleware `structuredClone`s the response's headers and walks
 * its options on every response; this copies them with a spread and looks up a `Set`.
 * The same `Vary: Origin` rule (several or pattern origins, or `*` answered with an
 * origin's own value) and the same regard for headers the response already set; a
 * response's own `Access-Control-Allow-Credentials` counts for that response only, where
 * Middy keeps it for every later one, and an `Origin` named like an object's property
 * (`constructor`) matches nothing, where Middy's lookup object matched it.
 * test/unit/layers/http/cors.test.ts compares both over a matrix of origins and methods.
 *
 * @example
 * const add = corsHeaders({ origins: ['https://a.example', 'https://b.example'], headers: 'Content-Type' });
 * add({ 'content-type': 'application/json' }, 'https://b.example');
 * // => { 'content-type': 'application/json', 'Access-Control-Allow-Headers': 'Content-Type',
 * //      'Access-Control-Allow-Origin': 'https://b.example', Vary: 'Origin' }
 */
export const corsHeaders = (options: CorsOptions) => {
  const { origins, origin } = options;
  let any = false;
  let many = origins.length > 1;
  const exact = new Set<string>();
  const patterns: RegExp[] = [];
  for (const o of [origin, ...origins]) {
    if (!o) continue;
    if (o === '*') any = true;
    else if (!o.includes('*')) exact.add(o);
    else {
      many = true;
      patterns.push(new RegExp(`^${o.replaceAll('.', '\\.').replaceAll('*', '[^.]*')}$`));
    }
  }
  const allowed = (requestOrigin: string | undefined, credentials: boolean): string | undefined => {
    if (origins.length === 0) return requestOrigin && credentials && origin === '*' ? requestOrigin : origin;
    if (requestOrigin !== undefined && exact.has(requestOrigin)) return requestOrigin;
    if (any) return credentials ? requestOrigin : '*';
    if (patterns.some((p) => p.test(String(requestOrigin)))) return requestOrigin;
    return undefined;
  };
  return (responseHeaders: ResponseHeaders, requestOrigin: string | undefined): ResponseHeaders => {
    const headers = { ...responseHeaders };
    const credentials = ALLOW_CREDENTIALS in headers && headers[ALLOW_CREDENTIALS] === 'true';
    if (credentials) headers[ALLOW_CREDENTIALS] = 'true';
    if (options.headers && !(ALLOW_HEADERS in headers)) headers[ALLOW_HEADERS] = options.headers;
    let answered: string | undefined;
    if (!(ALLOW_ORIGIN in headers)) {
      answered = allowed(requestOrigin, credentials);
      if (answered) headers[ALLOW_ORIGIN] = answered;
    }
    if (many || (any && answered !== '*') || (answered === '*' && credentials))
      addHeaderPart(headers, 'Vary', 'Origin');
    return headers;
  };
};

/**
 * The CORS middleware of every route (layers/http/api.ts): `corsHeaders` on the answer,
 * and on an error's answer once the error envelope has made one.
 *
 * @example
 * middy(handler).use(cors({ origins: ['*'], headers: CORS_ALLOW_HEADERS.join(',') }));
 */
export const cors = (options: CorsOptions): ApiMiddleware => {
  const add = corsHeaders(options);
  return onEveryAnswer((request) => {
    const response = normalizedResponse(request);
    const headers = request.event.headers ?? {};
    response.headers = add(response.headers, headers.Origin ?? headers.origin);
  });
};
