import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { errorEnvelope } from '#http/error-envelope.ts';
import { jsonBody } from '#http/json-body.ts';
import { json } from '#http/response.ts';
import type { ApiEvent, ApiResult } from '#http/types.ts';
import { context, event, parse, wrap } from '../../../helpers/middy.ts';

describe('jsonBody (with the request id and the error envelope around it)', () => {
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

  it('parses multipart/form-data (a browser FormData) where forms are accepted, base64 or not', async () => {
    const form = new FormData();
    form.append('q', 'hola');
    form.append('q', 'adiós ✓');
    form.append('__proto__', 'x');
    const request = new Request('http://localhost/', { method: 'POST', body: form });
    const contentType = request.headers.get('content-type')!;
    const bytes = Buffer.from(await request.arrayBuffer());
    const accepting = middy<ApiEvent, ApiResult, Error, Context>({ timeoutEarlyInMillis: 0 })
      .use(errorEnvelope({ logger: { info: () => undefined, error: () => undefined } }))
      .use(jsonBody({ acceptsForm: () => true }))
      .handler(async (e) => json({ got: Object.entries(e.body as object) }));

    const plain = await accepting(event({ headers: { 'content-type': contentType }, body: bytes.toString() }), context);
    const base64 = await accepting(
      event({ headers: { 'content-type': contentType }, body: bytes.toString('base64'), isBase64Encoded: true }),
      context,
    );
    const refusing = middy<ApiEvent, ApiResult, Error, Context>({ timeoutEarlyInMillis: 0 })
      .use(errorEnvelope({ logger: { info: () => undefined, error: () => undefined } }))
      .use(jsonBody())
      .handler(async () => json({}));
    const refused = await refusing(
      event({ headers: { 'content-type': contentType }, body: bytes.toString() }),
      context,
    );

    expect(JSON.parse(plain.body)).toEqual({
      got: [
        ['q', ['hola', 'adiós ✓']],
        ['__proto__', 'x'],
      ],
    });
    expect(base64.body).toBe(plain.body);
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
