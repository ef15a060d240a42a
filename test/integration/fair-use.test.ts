import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeyIdOf } from '#local/server.ts';
import type { LocalStack } from '#local/stack.ts';
import { windowOf } from '#predictions/usage.ts';
import { post, recordsOf, scanTable, startTestApi } from '../helpers/local-api.ts';

/** Per key and UTC day by default: 30 characters for translate and detect, 500 completion tokens. */
const CHARS = 30;
const TOKENS = 500;
const KEYS = ['chars-a', 'chars-b', 'chars-race', 'tokens-a', 'heavy-a', 'heavy-b', 'refund-a', 'abort-a'];
/** Two usage plans with allowances of their own (FAIR_USE_PLANS), one key in each (`key:rate:burst:quota:plan`). */
const PLANS = { small: { charactersPerDay: 10 }, big: { charactersPerDay: 60 } };
const PLAN_KEYS = ['plan-small:1000:1000::small', 'plan-big:1000:1000::big'];

let api: LocalStack;
beforeAll(async () => {
  api = await startTestApi(
    { CHARACTERS_PER_DAY: String(CHARS), TOKENS_PER_DAY: String(TOKENS), FAIR_USE_PLANS: JSON.stringify(PLANS) },
    { LOCAL_API_KEY: [...KEYS.map((k) => `${k}:1000:1000`), ...PLAN_KEYS].join(',') },
  );
});

/** The key's counter of `unit` for today (0 when it has none). */
const usedBy = async (key: string, unit: 'characters' | 'tokens'): Promise<number> => {
  const counters = await scanTable(api, api.config.USAGE_TABLE);
  const item = counters.find((c) => c.counter === `${apiKeyIdOf(key)}#${unit}#${windowOf(Date.now()).id}`);
  return Number(item?.used ?? 0);
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
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

describe('allowances per usage plan', () => {
  it("gives each key its plan's allowance, header- or body-keyed: one key gets 429 where the other does not", async () => {
    const text = 'Bonjour tout le monde'; // 21 characters: over small's 10 and, twice, over the stage's 30

    const small = await detect('plan-small', text);
    const big1 = await detect('plan-big', text);
    const big2 = await detect('plan-big', text);
    // LibreTranslate's body key reaches the same plan through the key mirror: 42 + 15 = 57 of 60.
    const bigBody = await post(api, '/detect', { q: 'Guten Morgen!!!', api_key: 'plan-big' }, { 'x-api-key': '' });
    const bigOver = await post(api, '/detect', { q: 'Ciao!', api_key: 'plan-big' }, { 'x-api-key': '' });
    const smallBody = await post(api, '/detect', { q: 'Hallo Welt!', api_key: 'plan-small' }, { 'x-api-key': '' });

    expect([small.status, big1.status, big2.status, bigBody.status]).toEqual([429, 200, 200, 200]);
    expect([bigOver.status, smallBody.status]).toEqual([429, 429]);
    expect(small.body.error?.message).toContain('allowance on plan "small" is 10 characters per UTC day');
    expect(JSON.stringify(bigOver.body)).toContain('allowance on plan \\"big\\" is 60 characters');
    expect(JSON.stringify(smallBody.body)).toContain('is 10 characters');
    expect(await usedBy('plan-big', 'characters')).toBe(57);
    expect(await usedBy('plan-small', 'characters')).toBe(0);
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
    const afterFailed = await usedBy('tokens-a', 'tokens');
    const a = await chat(200);
    const b = await chat(200);
    // What a and b generated stays counted (the rest of their 200 was refunded: the sampled text
    // may end early), so a request reserving one token more than is left is refused whatever they made.
    const used = await usedBy('tokens-a', 'tokens');
    const c = await chat(TOKENS - used + 1);

    expect([failed.status, a.status, b.status, c.status]).toEqual([400, 200, 200, 429]);
    expect(afterFailed).toBe(0);
    const generated = (r: typeof a) => (r.body.usage as { completion_tokens: number }).completion_tokens;
    expect(used).toBe(generated(a) + generated(b));
    expect(c.body.error).toMatchObject({ type: 'rate_limit_error', code: 'usage_exceeded', param: null });
    expect(Number(c.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('unused completion tokens refunded', () => {
  it('a key with a small allowance makes more short completions than allowance / max_tokens would allow', async () => {
    const complete = (body: Record<string, unknown>) =>
      post(
        api,
        '/v1/completions',
        { model: 'tiny-gpt2', prompt: 'Hello, my name is', temperature: 0, ...body },
        {
          'x-api-key': 'refund-a',
        },
      );
    // A greedy probe, then a stop sequence from its text: each later answer ends after a few tokens.
    const probe = await complete({ max_tokens: 12 });
    const stop = String((probe.body.choices as { text: string }[])[0]!.text).slice(4, 7);

    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await complete({ max_tokens: 200, stop }));

    // 500 a day, 200 reserved a request: without refunds the third would be refused.
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const generated = [probe, ...answers].reduce(
      (n, a) => n + (a.body.usage as { completion_tokens: number }).completion_tokens,
      0,
    );
    expect(generated).toBeLessThan(6 * 200);
    expect(await usedBy('refund-a', 'tokens')).toBe(generated);
  });

  it('an aborted stream is charged only the tokens it generated (the records say how many)', async () => {
    const client = new AbortController();
    const res = await fetch(`${api.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'abort-a' },
      body: JSON.stringify({ model: 'tiny-gpt2', prompt: 'Hello', max_tokens: 200, temperature: 0, stream: true }),
      signal: client.signal,
    });
    expect(res.status).toBe(200);
    const requestId = res.headers.get('x-request-id')!;
    await res.body!.getReader().read();
    client.abort();
    // The abort reaches the decoder within a step; the refund and the record follow.
    for (let i = 0; i < 50 && (await usedBy('abort-a', 'tokens')) >= 200; i++) await sleep(100);
    const records = await recordsOf(api, requestId);

    const generated = (records[0]!.output as { completionTokens: number }).completionTokens;
    expect(records[0]!.outcome).toBe('client_aborted');
    expect(generated).toBeGreaterThan(0);
    expect(generated).toBeLessThan(200);
    expect(await usedBy('abort-a', 'tokens')).toBe(generated);
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
