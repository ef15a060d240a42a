import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_RESPONSES, gatewayErrorBody } from '#functions/gateway-responses.ts';
import { ROUTES } from '#functions/routes.ts';
import type { LocalStack } from '#local/stack.ts';
import { startTestApi, TEST_KEY } from '../helpers/local-api.ts';

/** The handlers' body limit for this API (the smallest MAX_BODY_BYTES allows), far below the gateway's. */
const MAX_BODY_BYTES = 2048;
/** API Gateway's payload limit, which the emulator enforces before any function runs. */
const GATEWAY_MAX_BYTES = 10 * 1024 * 1024;

let api: LocalStack;
beforeAll(async () => {
  api = await startTestApi({ MAX_BODY_BYTES: String(MAX_BODY_BYTES) });
});
afterAll(async () => api?.close());

/** A JSON object of exactly `bytes` bytes. */
const jsonOf = (bytes: number): string => {
  const body = `{"text":"${'a'.repeat(bytes - 11)}"}`;
  expect(Buffer.byteLength(body)).toBe(bytes);
  return body;
};
const postRaw = async (path: string, body: string) => {
  const res = await fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': TEST_KEY },
    body,
  });
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    requestId: res.headers.get('x-request-id'),
    body: (await res.json()) as { error: Record<string, unknown> & string },
  };
};

const posts = ROUTES.filter((r) => r.method === 'POST').map((r) => [r.path, r] as const);

describe('oversized bodies', () => {
  it.each(posts)('%s: 413 in the route error shape past MAX_BODY_BYTES, and not at the limit', async (path, route) => {
    const over = await postRaw(path, jsonOf(MAX_BODY_BYTES + 1));
    const at = await postRaw(path, jsonOf(MAX_BODY_BYTES));

    expect(over.status).toBe(413);
    expect(over.type).toMatch(/^application\/json/);
    const tooLarge = new RegExp(`larger than ${MAX_BODY_BYTES} bytes`);
    if (route.errorShape === 'libretranslate') {
      expect(over.body.error).toMatch(tooLarge);
    } else if (route.errorShape === 'openai') {
      expect(over.body.error.message).toMatch(tooLarge);
      expect(over.body.error).toEqual({
        message: expect.any(String),
        type: 'invalid_request_error',
        param: null,
        code: 'payload_too_large',
      });
    } else {
      expect(over.body.error.message).toMatch(tooLarge);
      expect(over.body.error).toMatchObject({ code: 'payload_too_large', requestId: expect.any(String) });
    }
    expect(at.status).not.toBe(413);
  });

  it.each(posts)('%s: 413 from the gateway past 10 MB, in the route family shape', async (path, route) => {
    const res = await postRaw(path, jsonOf(GATEWAY_MAX_BYTES + 1));

    expect(res.status).toBe(413);
    expect(res.type).toMatch(/^application\/json/);
    expect(res.body).toEqual(gatewayErrorBody('REQUEST_TOO_LARGE', route.errorShape, res.requestId ?? ''));
    expect(JSON.stringify(res.body)).toContain(GATEWAY_RESPONSES.REQUEST_TOO_LARGE.message);
  });
});

describe("requests over the model's context window", () => {
  /** tiny-gpt2 attends to 256 tokens; each emoji is several. */
  const LONG = '😀'.repeat(300);
  const cases = [
    ['a completion prompt', '/v1/completions', { model: 'tiny-gpt2', prompt: LONG, max_tokens: 2 }, 'prompt'],
    ['a list of prompts', '/v1/completions', { model: 'tiny-gpt2', prompt: ['Hi', LONG], max_tokens: 2 }, 'prompt'],
    [
      'max_tokens past the room left',
      '/v1/completions',
      { model: 'tiny-gpt2', prompt: 'Hi', max_tokens: 300 },
      'max_tokens',
    ],
    [
      'a chat',
      '/v1/chat/completions',
      { model: 'tiny-gpt2', messages: [{ role: 'user', content: LONG }], max_tokens: 2 },
      'messages',
    ],
  ] as const;

  it.each(cases)('%s: 400 before any token, streamed or not', async (_, path, body, param) => {
    for (const stream of [false, true]) {
      const res = await fetch(`${api.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': TEST_KEY },
        body: JSON.stringify({ ...body, stream }),
      });

      expect(res.status, `stream: ${stream}`).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await res.json()).toEqual({
        error: {
          message: expect.stringMatching(/context/),
          type: 'invalid_request_error',
          param,
          code: 'validation_error',
        },
      });
    }
  });
});
