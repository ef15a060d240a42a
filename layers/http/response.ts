import type { ApiRequest, ApiResult } from './types.ts';

/** A JSON response. */
export const json = (body: unknown, statusCode = 200, headers: Record<string, string> = {}): ApiResult => ({
  statusCode,
  headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  body: JSON.stringify(body),
});

/** An answer's headers, as the after middlewares read and write them. */
export type ResponseHeaders = Record<string, string | number | boolean | undefined>;

/**
 * The request's answer made whole, as Middy's `normalizeHttpResponse` does for its own
 * middlewares: none becomes `{}`, a bare value a 200's body, and the status (500) and
 * headers (`{}`) are filled in. The answer is put back on the request and returned.
 *
 * @example
 * normalizedResponse({ response: 'hi' } as ApiRequest); // => { statusCode: 200, body: 'hi', headers: {} }
 */
export const normalizedResponse = (request: ApiRequest): Omit<ApiResult, 'headers'> & { headers: ResponseHeaders } => {
  let response = request.response as (Partial<ApiResult> & Record<string, unknown>) | undefined | null;
  if (response === undefined || response === null) response = {};
  else if (response.statusCode === undefined && response.body === undefined && response.headers === undefined)
    response = { statusCode: 200, body: response as unknown as string };
  response.statusCode ??= 500;
  response.headers ??= {};
  request.response = response as ApiResult;
  return response as Omit<ApiResult, 'headers'> & { headers: ResponseHeaders };
};
