import middy from '@middy/core';
import httpCors from '@middy/http-cors';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { CORS_ALLOW_HEADERS, cors, corsHeaders } from '#http/cors.ts';
import type { ApiEvent, ApiResult } from '#http/types.ts';

const context = { awsRequestId: 'aws-1', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;
const HEADERS = CORS_ALLOW_HEADERS.join(',');

/** The configurations a stage's CORS_ORIGINS can give (api.ts: origin = the first, else `*`). */
const CONFIGS: ReadonlyArray<readonly string[]> = [
  [],
  ['*'],
  ['https://app.example'],
  ['https://app.example', 'https://admin.example'],
  ['https://*.example.com'],
  ['https://app.example', '*'],
  ['*', 'https://app.example'],
  ['https://app.example', 'https://*.example.com'],
];
const REQUEST_ORIGINS = [
  undefined,
  'https://app.example',
  'https://admin.example',
  'https://shop.example.com',
  'https://a.b.example.com',
  'https://evil.example',
  'null',
];
const METHODS = ['GET', 'POST', 'OPTIONS'] as const;
/** What a route may already have set (the error envelope, a streamed answer's headers). */
const RESPONSE_HEADERS: ReadonlyArray<Record<string, string>> = [
  { 'content-type': 'application/json' },
  { 'content-type': 'application/json', vary: 'Accept-Encoding' },
  { Vary: 'Accept' },
  { 'Access-Control-Allow-Origin': 'https://fixed.example' },
  { 'Access-Control-Allow-Headers': 'X-Own' },
];

const event = (method: string, origin: string | undefined, originHeader: 'origin' | 'Origin'): ApiEvent =>
  ({
    httpMethod: method,
    resource: '/v1/x',
    path: '/v1/x',
    headers: origin === undefined ? {} : { [originHeader]: origin },
    body: null,
    isBase64Encoded: false,
    requestContext: { requestId: 'req-1' },
  }) as unknown as ApiEvent;

/** One answer through a Middy stack of just this CORS middleware. */
const answer = (
  middleware: ReturnType<typeof cors>,
  e: ApiEvent,
  headers: Record<string, string>,
  fail = false,
): Promise<ApiResult> =>
  middy<ApiEvent, ApiResult, Error, Context>()
    .use(middleware)
    .use({
      // As the error envelope does: the error becomes an answer, which CORS then completes.
      onError: async (request) => {
        request.response = { statusCode: 500, headers: { ...headers }, body: '{}' };
      },
    })
    .handler(async () => {
      if (fail) throw new Error('boom');
      return { statusCode: 200, headers: { ...headers }, body: '{}' };
    })(e, context);

describe('corsHeaders against @middy/http-cors', () => {
  const cases = CONFIGS.flatMap((origins) =>
    REQUEST_ORIGINS.flatMap((origin) =>
      METHODS.flatMap((method) =>
        RESPONSE_HEADERS.flatMap((headers) =>
          (['origin', 'Origin'] as const).flatMap((originHeader) =>
            [false, true].map((fail) => ({ origins, origin, method, headers, originHeader, fail })),
          ),
        ),
      ),
    ),
  );

  it(`gives the same headers in all ${cases.length} cases of origins, request origin, method and response`, async () => {
    for (const { origins, origin, method, headers, originHeader, fail } of cases) {
      const options = { origins, origin: origins[0] ?? '*', headers: HEADERS };
      const e = event(method, origin, originHeader);

      const ours = await answer(cors(options), e, headers, fail);
      const middys = await answer(httpCors({ ...options, origins: [...origins] }), e, headers, fail);

      expect(ours, JSON.stringify({ origins, origin, method, headers, originHeader, fail })).toEqual(middys);
    }
  });

  it('leaves the response headers it was given as they were', () => {
    const given = { 'content-type': 'application/json' };

    const added = corsHeaders({ origins: ['https://a.example', 'https://b.example'], headers: HEADERS })(
      given,
      'https://b.example',
    );

    expect(given).toEqual({ 'content-type': 'application/json' });
    expect(added).toEqual({
      'content-type': 'application/json',
      'Access-Control-Allow-Headers': HEADERS,
      'Access-Control-Allow-Origin': 'https://b.example',
      Vary: 'Origin',
    });
  });

  it('answers a disallowed origin with no Access-Control-Allow-Origin', () => {
    const added = corsHeaders({ origins: ['https://a.example'], origin: 'https://a.example' })(
      {},
      'https://evil.example',
    );

    expect(added).not.toHaveProperty('Access-Control-Allow-Origin');
  });
});
