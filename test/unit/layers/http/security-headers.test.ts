import middy from '@middy/core';
import httpSecurityHeaders from '@middy/http-security-headers';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { securityHeaders } from '#http/security-headers.ts';
import type { ApiEvent, ApiResult } from '#http/types.ts';

const context = { awsRequestId: 'aws-1', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;
const event = { httpMethod: 'POST', resource: '/v1/x', path: '/v1/x', headers: {}, body: null } as unknown as ApiEvent;

/** What routes answer with: JSON, HTML under either header case, headers Middy overrides, none at all. */
const RESPONSES: ReadonlyArray<unknown> = [
  { statusCode: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: '{}' },
  { statusCode: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: '<p>' },
  { statusCode: 200, headers: { 'Content-Type': 'text/html' }, body: '<p>' },
  { statusCode: 200, headers: { 'content-type': 'text/event-stream', Server: 'ours', 'X-Powered-By': 'us' }, body: '' },
  { statusCode: 200, headers: { 'Strict-Transport-Security': 'max-age=1', 'X-Frame-Options': 'SAMEORIGIN' }, body: '' },
  { statusCode: 204, body: '' },
  { body: 'no status' },
  'a bare string',
];

/** One answer through a Middy stack of just this middleware (or its error path, the answer made by onError). */
const answer = (middleware: ReturnType<typeof securityHeaders>, response: unknown, fail: boolean) =>
  middy<ApiEvent, ApiResult, Error, Context>()
    .use(middleware)
    .use({
      onError: async (request) => {
        request.response = structuredClone(response) as ApiResult;
      },
    })
    .handler(async () => {
      if (fail) throw new Error('boom');
      return structuredClone(response) as ApiResult;
    })(event, context);

/** Every header in order, undefined values included (toEqual would take a missing key for one). */
const entries = (r: ApiResult) => ({ ...r, headers: Object.entries(r.headers ?? {}) });

describe('securityHeaders against @middy/http-security-headers', () => {
  it.each(RESPONSES.flatMap((response) => [false, true].map((fail) => ({ response, fail }))))(
    'gives the same answer to $response (error path: $fail)',
    async ({ response, fail }) => {
      const ours = await answer(securityHeaders(), response, fail);
      const middys = await answer(
        httpSecurityHeaders({ reportingEndpoints: false } as Parameters<typeof httpSecurityHeaders>[0]),
        response,
        fail,
      );

      expect(entries(ours)).toStrictEqual(entries(middys));
    },
  );
});
