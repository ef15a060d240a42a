import { describe, expect, it } from 'vitest';
import { ModelUnavailableError, ValidationError } from '#runtime/errors.ts';
import { context, event, parse, wrap } from '../../../helpers/middy.ts';

describe('errorEnvelope', () => {
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

  it("answers LibreTranslate's bare {error} on LibreTranslate routes, the status kept and no internals", async () => {
    const bad = await wrap(async () => {
      throw new ValidationError('q: must be a string or a list of strings', { param: 'q' });
    }, 'libretranslate')(event(), context);
    const server = await wrap(async () => {
      throw new Error('secret stack detail');
    }, 'libretranslate')(event(), context);

    expect(bad.statusCode).toBe(400);
    expect(parse(bad)).toEqual({ error: 'q: must be a string or a list of strings' });
    expect(server.statusCode).toBe(500);
    expect(parse(server)).toEqual({ error: expect.stringMatching(/req-1/) });
    expect(server.body).not.toMatch(/secret|stack/);
  });
});
