import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { errorEnvelope } from '#http/error-envelope.ts';
import { jsonBody } from '#http/json-body.ts';
import { requestIdHeader } from '#http/request-id.ts';
import { json } from '#http/response.ts';
import type { ApiEvent, ApiResult } from '#http/types.ts';
import { ModelUnavailableError, ValidationError } from '#runtime/errors.ts';

const context = { awsRequestId: 'aws-1', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;
const event = (over: Partial<ApiEvent> = {}): ApiEvent =>
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

const wrap = (fn: (e: ApiEvent) => Promise<ApiResult>, shape: 'default' | 'openai' = 'default') =>
  middy<ApiEvent, ApiResult, Error, Context>({ timeoutEarlyInMillis: 0 })
    .use(requestIdHeader())
    .use(errorEnvelope({ shapeOf: () => shape, logger: { info: () => undefined, error: () => undefined } }))
    .use(jsonBody({ maxBytes: 64 }))
    .handler(fn);

const parse = (r: ApiResult) => JSON.parse(r.body) as { error: Record<string, unknown> };

describe('http middlewares', () => {
  it('parses a JSON body and echoes the request id', async () => {
    const handler = wrap(async (e) => json({ got: e.body }));

    const result = await handler(event(), context);

    expect(JSON.parse(result.body)).toEqual({ got: { text: 'hi' } });
    expect(result.headers?.['x-request-id']).toBe('req-1');
  });

  it('answers malformed JSON with 400 and a wrong content type with 415', async () => {
    const handler = wrap(async () => json({}));

    const malformed = await handler(event({ body: '{"text":' }), context);
    const wrongType = await handler(event({ headers: { 'content-type': 'text/plain' } }), context);
    const tooLarge = await handler(event({ body: JSON.stringify({ text: 'x'.repeat(100) }) }), context);

    expect(malformed.statusCode).toBe(400);
    expect(parse(malformed).error).toMatchObject({ code: 'bad_request', requestId: 'req-1' });
    expect(parse(malformed).error.message).toMatch(/Malformed JSON body/);
    expect(wrongType.statusCode).toBe(415);
    expect(parse(wrongType).error.message).toMatch(/application\/json/);
    expect(tooLarge.statusCode).toBe(413);
    expect(malformed.headers?.['x-request-id']).toBe('req-1');
  });

  it('shows client errors, hides server errors behind the request id', async () => {
    const client = await wrap(async () => {
      throw new ValidationError('text: must not be empty', { details: [{ field: 'text' }] });
    })(event(), context);
    const server = await wrap(async () => {
      throw new Error('secret stack detail');
    })(event(), context);

    expect(client.statusCode).toBe(400);
    expect(parse(client).error).toEqual({
      code: 'validation_error',
      message: 'text: must not be empty',
      requestId: 'req-1',
      details: [{ field: 'text' }],
    });
    expect(server.statusCode).toBe(500);
    expect(server.body).not.toMatch(/secret|stack|at /);
    expect(parse(server).error.message).toMatch(/req-1/);
  });

  it('uses OpenAI error shape on OpenAI routes and sets Retry-After on 503', async () => {
    const openai = await wrap(async () => {
      throw new ValidationError('temperature must be between 0 and 2', { param: 'temperature' });
    }, 'openai')(event(), context);
    const unavailable = await wrap(async () => {
      throw new ModelUnavailableError('loading', { retryAfterSeconds: 7 });
    })(event(), context);

    expect(parse(openai)).toEqual({
      error: {
        message: 'temperature must be between 0 and 2',
        type: 'invalid_request_error',
        param: 'temperature',
        code: 'validation_error',
      },
    });
    expect(unavailable.statusCode).toBe(503);
    expect(unavailable.headers?.['Retry-After']).toBe('7');
  });

  it('parses a form body only where the route accepts forms', async () => {
    const formEvent = event({
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'q=hola&q=adios&x=1',
    });
    const accepting = middy<ApiEvent, ApiResult, Error, Context>({ timeoutEarlyInMillis: 0 })
      .use(errorEnvelope({ logger: { info: () => undefined, error: () => undefined } }))
      .use(jsonBody({ acceptsForm: () => true }))
      .handler(async (e) => json({ got: e.body }));

    const accepted = await accepting(formEvent, context);
    const refused = await wrap(async () => json({}))(
      event({ headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'q=hola' }),
      context,
    );

    expect(JSON.parse(accepted.body)).toEqual({ got: { q: ['hola', 'adios'], x: '1' } });
    expect(refused.statusCode).toBe(415);
  });

  it('keeps form fields named like Object.prototype members as data', async () => {
    const handler = middy<ApiEvent, ApiResult, Error, Context>({ timeoutEarlyInMillis: 0 })
      .use(jsonBody({ acceptsForm: () => true }))
      .handler(async (e) => {
        const body = e.body as Record<string, unknown>;
        return json({ prototype: Object.getPrototypeOf(body) === Object.prototype, fields: Object.entries(body) });
      });

    const result = await handler(
      event({
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: '__proto__=a&__proto__=b&constructor=c&q=hi',
      }),
      context,
    );

    expect(JSON.parse(result.body)).toEqual({
      prototype: true,
      fields: [
        ['__proto__', ['a', 'b']],
        ['constructor', 'c'],
        ['q', 'hi'],
      ],
    });
  });
});
