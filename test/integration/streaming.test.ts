import '#local/lambda-shim.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpApi } from '#http/api.ts';
import { json } from '#http/response.ts';
import { sseStream } from '#http/sse.ts';
import { type StreamingHandler, startLocalApi } from '#local/server.ts';
import { ValidationError } from '#runtime/errors.ts';

const KEY = 'k';
const ROUTES = [
  { method: 'POST', path: '/v1/stream', fn: 'completions', apiKeyRequired: true, streaming: true },
  { method: 'GET', path: '/v1/plain', fn: 'completions', apiKeyRequired: true, streaming: true },
] as const;

/** A producer that sends one event, then waits until the test says go: no timing involved. */
let release: () => void = () => undefined;

const handler = httpApi(
  [
    {
      method: 'POST',
      path: '/v1/stream',
      errorShape: 'openai',
      handler: async (event) => {
        if ((event.body as { fail?: boolean }).fail) throw new ValidationError('bad field', { param: 'fail' });
        const body = sseStream(
          async (send) => {
            send({ n: 1 });
            await new Promise<void>((resolve) => {
              release = resolve;
            });
            send({ n: 2 });
          },
          () => ({ error: { message: 'failed' } }),
        );
        return { statusCode: 200, headers: { 'content-type': 'text/event-stream' }, body: body as unknown as string };
      },
    },
    { method: 'GET', path: '/v1/plain', handler: async () => json({ ok: true }) },
  ],
  { streaming: true },
) as unknown as StreamingHandler;

let api: Awaited<ReturnType<typeof startLocalApi>>;
beforeAll(async () => {
  api = await startLocalApi({
    port: 0,
    host: '127.0.0.1',
    apiKeys: [KEY],
    rate: 100,
    burst: 100,
    timeoutMs: 10_000,
    routes: ROUTES,
    loadHandler: async () => handler,
  });
});
afterAll(async () => api?.close());

describe('response streaming through the local API', () => {
  it('delivers the first event before the producer finishes', async () => {
    const res = await fetch(`${api.url}/v1/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': KEY },
      body: '{}',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(res.headers.get('x-request-id')).toBeTruthy();
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();

    const first = decoder.decode((await reader.read()).value);
    // The producer is still blocked: the first event got here before generation ended.
    expect(first).toBe('data: {"n":1}\n\n');
    release();
    let rest = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += decoder.decode(value);
    }

    expect(rest).toBe('data: {"n":2}\n\ndata: [DONE]\n\n');
  });

  it('answers errors and plain JSON through the stream with their status', async () => {
    const bad = await fetch(`${api.url}/v1/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': KEY },
      body: '{"fail":true}',
    });
    const plain = await fetch(`${api.url}/v1/plain`, { headers: { 'x-api-key': KEY } });

    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      error: { message: 'bad field', type: 'invalid_request_error', param: 'fail', code: 'validation_error' },
    });
    expect(plain.status).toBe(200);
    expect(await plain.json()).toEqual({ ok: true });
  });
});
