import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { ErrorShape } from '#http/error-envelope.ts';
import { errorEnvelope } from '#http/error-envelope.ts';
import { jsonBody } from '#http/json-body.ts';
import { requestIdHeader } from '#http/request-id.ts';
import type { ApiEvent, ApiResult } from '#http/types.ts';

/** A stub handler wrapped in the request id, error envelope and JSON body middlewares, as httpApi orders them. */
export const context = { awsRequestId: 'aws-1', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;
export const event = (over: Partial<ApiEvent> = {}): ApiEvent =>
  ({
    httpMethod: 'POST',
    resource: '/v1/x',
    path: '/v1/x',
    headers: { 'content-type': 'application/json' },
    body: '{"text":"hi"}',
    isBase64Encoded: false,
    requestContext: { requestId: 'req-1' },
    ...over,
  }) as ApiEvent;

export const wrap = (fn: (e: ApiEvent) => Promise<ApiResult>, shape: ErrorShape = 'default') =>
  middy<ApiEvent, ApiResult, Error, Context>({ timeoutEarlyInMillis: 0 })
    .use(requestIdHeader())
    .use(errorEnvelope({ shapeOf: () => shape, logger: { info: () => undefined, error: () => undefined } }))
    .use(jsonBody({ maxBytes: 64 }))
    .handler(fn);

export const parse = (r: ApiResult) => JSON.parse(r.body) as { error: Record<string, unknown> };
