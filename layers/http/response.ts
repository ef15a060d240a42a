import { normalizeHttpResponse } from '@middy/util';
import type { ApiMiddleware, ApiRequest, ApiResult } from './types.ts';

/** A JSON response. */
export const json = (body: unknown, statusCode = 200, headers: Record<string, string> = {}): ApiResult => ({
  statusCode,
  headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  body: JSON.stringify(body),
});

/** An answer's headers, as the after middlewares read and write them. */
export type ResponseHeaders = Record<string, string | number | boolean | undefined>;

/** An answer as the after middlewares get it: status and headers filled in. */
type NormalizedResponse = Omit<ApiResult, 'headers'> & { headers: ResponseHeaders };

/**
 * The request's answer made whole by Middy's own `normalizeHttpResponse` (what its
 * http middlewares call first): none becomes `{}`, a bare value a 200's body, and the
 * status (500) and headers (`{}`) are filled in; the answer is put back on the request.
 *
 * @example
 * normalizedResponse({ response: 'hi' } as ApiRequest); // => { statusCode: 200, body: 'hi', headers: {} }
 */
export const normalizedResponse = (request: ApiRequest): NormalizedResponse =>
  // @middy/util types it `any`; it returns the request's response, normalised in place.
  normalizeHttpResponse(request) as NormalizedResponse;

/**
 * A middleware that works on every answer: `write` runs after the route, and on an error's
 * answer once the error envelope has made one (none yet: nothing to write on).
 *
 * @example
 * middy(handler).use(onEveryAnswer((request) => { normalizedResponse(request).headers.Vary = 'Origin'; }));
 */
export const onEveryAnswer = (write: (request: ApiRequest) => void): ApiMiddleware => ({
  after: async (request) => write(request),
  onError: async (request) => {
    if (request.response !== undefined) write(request);
  },
});
