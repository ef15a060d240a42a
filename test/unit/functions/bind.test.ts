import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { bindRoutes, preloadOnProvisioned } from '#functions/bind.ts';
import { defineCapability } from '#functions/spec.ts';
import { json } from '#http/response.ts';
import type { ApiEvent, ApiResult } from '#http/types.ts';
import { loadConfig, setConfig } from '#runtime/config.ts';

/** A capability of two routes, one JSON/form POST and one GET with a query and path parameters. */
const demo = defineCapability('demo', {
  description: 'A test capability.',
  routes: {
    echo: {
      method: 'POST',
      path: '/v1/echo',
      form: true,
      summary: 'Echo',
      body: () => z.strictObject({ text: z.string().min(1), times: z.coerce.number().int().default(1) }),
      response: z.object({ echoed: z.string() }),
    },
    item: {
      method: 'GET',
      path: '/v1/items/{id}',
      errorShape: 'openai',
      summary: 'One item',
      params: () => z.object({ id: z.string().regex(/^[a-z]+$/, 'must be lowercase letters') }),
      query: () => z.object({ verbose: z.enum(['true', 'false']).optional() }),
      response: z.object({ id: z.string() }),
    },
  },
});

const context = {
  awsRequestId: 'aws-1',
  functionName: 'demo',
  getRemainingTimeInMillis: () => 10_000,
} as unknown as Context;

const event = (over: Partial<ApiEvent>): ApiEvent =>
  ({
    httpMethod: 'POST',
    resource: '/v1/echo',
    path: '/v1/echo',
    headers: { 'content-type': 'application/json' },
    body: null,
    isBase64Encoded: false,
    queryStringParameters: null,
    pathParameters: null,
    requestContext: { requestId: 'req-1', requestTimeEpoch: Date.now() },
    ...over,
  }) as ApiEvent;

const handler = bindRoutes(demo, {
  echo: async ({ body }) => json({ echoed: body.text.repeat(body.times) }),
  item: async ({ params, query }) => json({ id: params.id, verbose: query.verbose ?? 'false' }),
});
const call = (e: ApiEvent) => (handler as unknown as (e: ApiEvent, c: Context) => Promise<ApiResult>)(e, context);

describe('bindRoutes', () => {
  it('hands each route its body validated by its own spec', async () => {
    const ok = await call(event({ body: '{"text":"ab","times":2}' }));
    const bad = await call(event({ body: '{"text":"","extra":1}' }));

    expect(JSON.parse(ok.body)).toEqual({ echoed: 'abab' });
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(bad.body).error).toMatchObject({ code: 'validation_error', requestId: 'req-1' });
  });

  it('takes a form body only where the spec says form', async () => {
    const form = await call(
      event({ headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'text=hi&times=3' }),
    );

    expect(JSON.parse(form.body)).toEqual({ echoed: 'hihihi' });
  });

  it("validates path parameters and the query, and answers in the route's error shape", async () => {
    const get = (id: string, verbose?: string) =>
      call(
        event({
          httpMethod: 'GET',
          resource: '/v1/items/{id}',
          path: `/v1/items/${id}`,
          pathParameters: { id },
          queryStringParameters: verbose === undefined ? null : { verbose },
        }),
      );

    const ok = await get('abc', 'true');
    const badId = await get('ABC');
    const badQuery = await get('abc', 'maybe');

    expect(JSON.parse(ok.body)).toEqual({ id: 'abc', verbose: 'true' });
    expect(badId.statusCode).toBe(400);
    expect(JSON.parse(badId.body)).toEqual({
      error: {
        message: 'id: must be lowercase letters',
        type: 'invalid_request_error',
        param: 'id',
        code: 'validation_error',
      },
    });
    expect(JSON.parse(badQuery.body).error.param).toBe('verbose');
  });

  it('requires exactly one handler per route spec (checked by tsc in npm test)', () => {
    const noop = async () => json({});
    // @ts-expect-error: the `item` route has no handler
    const missing = () => bindRoutes(demo, { echo: noop });
    // @ts-expect-error: `extra` is not a route of the capability
    const extra = () => bindRoutes(demo, { echo: noop, item: noop, extra: noop });
    // @ts-expect-error: a GET route without a body spec has no body to read
    const wrongInput = () => bindRoutes(demo, { echo: noop, item: async ({ body }) => json(body.text) });

    expect([missing, extra, wrongInput].every((f) => typeof f === 'function')).toBe(true);
  });
});

describe('preloadOnProvisioned', () => {
  it('loads during init only in a provisioned-concurrency environment, and survives a failed load', async () => {
    const calls: string[] = [];
    const load = async () => void calls.push('loaded');
    const failing = async () => {
      throw new Error('registry unreachable');
    };

    setConfig(loadConfig({ AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand', LOG_LEVEL: 'SILENT' }));
    const onDemand = await preloadOnProvisioned(load);
    setConfig(loadConfig({ LOG_LEVEL: 'SILENT' }));
    const unset = await preloadOnProvisioned(load);
    setConfig(loadConfig({ AWS_LAMBDA_INITIALIZATION_TYPE: 'provisioned-concurrency', LOG_LEVEL: 'SILENT' }));
    const provisioned = await preloadOnProvisioned(load);
    const failed = await preloadOnProvisioned(failing);

    expect([onDemand, unset, provisioned, failed]).toEqual([false, false, true, false]);
    expect(calls).toEqual(['loaded']);
  });
});
