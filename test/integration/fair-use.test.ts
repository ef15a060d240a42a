import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '#local/stack.ts';
import { post, scanTable, startTestApi } from '../helpers/local-api.ts';

/** Per key and UTC day: 30 characters for translate and detect, 500 completion tokens. */
const CHARS = 30;
const TOKENS = 500;
const KEYS = ['chars-a', 'chars-b', 'chars-race', 'tokens-a', 'heavy-a', 'heavy-b'];

let api: LocalStack;
beforeAll(async () => {
  api = await startTestApi(
    { CHARACTERS_PER_DAY: String(CHARS), TOKENS_PER_DAY: String(TOKENS) },
    { LOCAL_API_KEY: KEYS.map((k) => `${k}:1000:1000`).join(',') },
  );
});
afterAll(async () => api?.close());

const detect = (key: string, text: string) => post(api, '/v1/detect', { text }, { 'x-api-key': key });

describe('characters per key and day (translate, detect)', () => {
  it('counts characters, answers 429 usage_exceeded with Retry-After past the allowance, for that key only', async () => {
    const first = await detect('chars-a', 'Bonjour tout le monde'); // 21 characters
    const over = await detect('chars-a', 'Guten Morgen'); // 12 more: 33 > 30
    const fits = await detect('chars-a', 'Buenos dias'); // 11 characters could not fit either (32)
    const small = await detect('chars-a', 'Ciao'); // 4: 25, fits
    const other = await detect('chars-b', 'Bonjour tout le monde');

    expect([first.status, over.status, fits.status, small.status, other.status]).toEqual([200, 429, 429, 200, 200]);
    expect(over.body.error).toMatchObject({
      code: 'usage_exceeded',
      message: expect.stringContaining('30 characters'),
    });
    const retryAfter = Number(over.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(86_400);
    const counters = await scanTable(api, api.config.USAGE_TABLE);
    expect(counters.find((c) => String(c.counter).includes('#characters#') && c.used === 25)).toBeDefined();
  });

  it('stays exact under concurrency: of 10 simultaneous 10-character requests exactly 3 are served', async () => {
    const answers = await Promise.all(Array.from({ length: 10 }, () => detect('chars-race', 'abcdefghij')));

    expect(answers.filter((a) => a.status === 200)).toHaveLength(3);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(7);
  });

  it('meters LibreTranslate’s q the same way', async () => {
    const res = await post(
      api,
      '/translate',
      { q: 'x'.repeat(CHARS + 1), source: 'en', target: 'fr' },
      {
        'x-api-key': 'chars-b',
      },
    );

    expect(res.status).toBe(429);
  });
});

describe('tokens per key and day (completions)', () => {
  it('reserves max_tokens before generating, refunds a failed request, and answers 429 in OpenAI’s shape past it', async () => {
    const chat = (max_tokens: number) =>
      post(
        api,
        '/v1/chat/completions',
        { model: 'tiny-gpt2', messages: [{ role: 'user', content: 'Hi' }], max_tokens },
        { 'x-api-key': 'tokens-a' },
      );

    // Over the model's context (a 400 from the handler): charged, then refunded.
    const failed = await chat(400);
    const a = await chat(200);
    const b = await chat(200);
    const c = await chat(200);

    expect([failed.status, a.status, b.status, c.status]).toEqual([400, 200, 200, 429]);
    expect(c.body.error).toMatchObject({ type: 'rate_limit_error', code: 'usage_exceeded', param: null });
    expect(Number(c.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('heavy work in flight per key on an instance', () => {
  it('refuses a second heavy request of a key while its stream runs, not another key’s, and frees the slot at the end', async () => {
    const streaming = await fetch(`${api.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'heavy-a' },
      body: JSON.stringify({ model: 'tiny-gpt2', prompt: 'Hello', max_tokens: 200, temperature: 0, stream: true }),
    });
    const reader = streaming.body!.getReader();
    await reader.read();
    const second = await post(
      api,
      '/v1/completions',
      { model: 'tiny-gpt2', prompt: 'Hi', max_tokens: 2 },
      { 'x-api-key': 'heavy-a' },
    );
    const light = await detect('heavy-a', 'Bonjour');
    const otherKey = await post(
      api,
      '/v1/completions',
      { model: 'tiny-gpt2', prompt: 'Hi', max_tokens: 2 },
      { 'x-api-key': 'heavy-b' },
    );
    for (;;) if ((await reader.read()).done) break;
    const after = await post(
      api,
      '/v1/completions',
      { model: 'tiny-gpt2', prompt: 'Hi', max_tokens: 2 },
      { 'x-api-key': 'heavy-a' },
    );

    expect(second.status).toBe(429);
    expect(second.body.error).toMatchObject({ code: 'too_many_in_flight', type: 'rate_limit_error' });
    expect(second.headers.get('retry-after')).toBe('1');
    expect(light.status).toBe(200);
    expect(otherKey.status).toBe(200);
    expect(after.status).toBe(200);
  });
});
