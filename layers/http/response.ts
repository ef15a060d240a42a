import type { ApiResult } from './types.ts';

/** A JSON response. */
export const json = (body: unknown, statusCode = 200, headers: Record<string, string> = {}): ApiResult => ({
  statusCode,
  headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  body: JSON.stringify(body),
});
