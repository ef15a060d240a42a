import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_RESPONSES } from '#functions/gateway-responses.ts';
import { ROUTES, type RouteDef } from '#functions/routes.ts';
import type { LocalStack } from '#local/stack.ts';
import { post, SLOW_KEY, startTestApi, TEST_KEY } from '../helpers/local-api.ts';
import { loggingRequests, MARKER, scanTables } from './privacy.ts';

/** A key on a tier with a daily quota of this many requests (and a throttle it never reaches). */
const QUOTA = 3;
const QUOTA_KEY = 'quota-key';
const ALLOWED = 'https://app.example.com';
const ALSO_ALLOWED = 'https://admin.example.com';
const DISALLOWED = 'https://evil.example.com';

let api: LocalStack;
beforeAll(async () => {
  api = await startTestApi(
    { CORS_ORIGINS: `${ALLOWED},${ALSO_ALLOWED}` },
    { LOCAL_API_KEY: `${TEST_KEY}:1000:1000,${SLOW_KEY}:1:2,${QUOTA_KEY}:100:100:${QUOTA}` },
  );
});
afterAll(async () => api?.close());

/** A concrete path for a route (`{id}` filled in). */
const pathOf = (path: string) => path.replace('{id}', 'tiny-gpt2');
const call = (method: string, path: string, headers: Record<string, string>) =>
  fetch(`${api.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: method === 'POST' ? '{"text":"hello"}' : undefined,
  });

const gatewayBody = (type: keyof typeof GATEWAY_RESPONSES) => ({
  error: {
    code: GATEWAY_RESPONSES[type].code,
    message: GATEWAY_RESPONSES[type].message,
    requestId: expect.any(String),
  },
});
/** The same refusal in the route family's shape: OpenAI's on the OpenAI routes, LibreTranslate's on its routes. */
const refusalOf = (type: keyof typeof GATEWAY_RESPONSES, r: RouteDef) =>
  r.errorShape === 'libretranslate'
    ? { error: GATEWAY_RESPONSES[type].message }
    : r.errorShape === 'openai'
      ? {
          error: {
            message: GATEWAY_RESPONSES[type].message,
            type: GATEWAY_RESPONSES[type].statusCode === 401 ? 'authentication_error' : 'permission_error',
            param: null,
            code: GATEWAY_RESPONSES[type].code,
          },
        }
      : gatewayBody(type);

describe('API keys', () => {
  // Body-keyed routes (LibreTranslate's POSTs) are keyed by their function: the same refusals, in their shape.
  const keyed = ROUTES.filter((r) => r.apiKeyRequired || r.bodyKey);

  it.each(keyed.map((r) => [`${r.method} ${r.path}`, r] as const))(
    '%s: 401 without a key, 403 with a wrong one, in either header; the right key in either passes',
    async (_, r) => {
      const cases: [Record<string, string>, 'UNAUTHORIZED' | 'ACCESS_DENIED'][] = [
        [{}, 'UNAUTHORIZED'],
        [{ 'x-api-key': '' }, 'UNAUTHORIZED'],
        [{ authorization: 'Bearer ' }, 'UNAUTHORIZED'],
        [{ authorization: `Basic ${TEST_KEY}` }, 'UNAUTHORIZED'],
        [{ 'x-api-key': 'not-a-key' }, 'ACCESS_DENIED'],
        [{ 'x-api-key': TEST_KEY.toUpperCase() }, 'ACCESS_DENIED'],
        [{ authorization: 'Bearer not-a-key' }, 'ACCESS_DENIED'],
        [{ authorization: `Bearer ${TEST_KEY}x` }, 'ACCESS_DENIED'],
      ];
      for (const [headers, type] of cases) {
        const res = await call(r.method, `${pathOf(r.path)}?api_key=${TEST_KEY}`, headers);

        expect(res.status).toBe(GATEWAY_RESPONSES[type].statusCode);
        expect(res.headers.get('content-type')).toMatch(/^application\/json/);
        expect(await res.json()).toEqual(
          r.bodyKey ? { error: expect.stringMatching(/^(Missing|Invalid) API key/) } : refusalOf(type, r),
        );
      }
      for (const headers of [{ 'x-api-key': TEST_KEY }, { authorization: `Bearer ${TEST_KEY}` }] as Record<
        string,
        string
      >[]) {
        expect([401, 403]).not.toContain((await call(r.method, pathOf(r.path), headers)).status);
      }
    },
  );

  it("takes LibreTranslate's body api_key on its POST routes, JSON or form, and on no other route", async () => {
    const form = (fields: Record<string, string>) =>
      fetch(`${api.url}/detect`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
      });
    const json = await post(api, '/translate', { q: 'hello', target: 'fr', api_key: TEST_KEY }, { 'x-api-key': '' });
    const formKeyed = await form({ q: 'Bonjour à tous', api_key: TEST_KEY });
    const wrong = await post(api, '/detect', { q: 'hello', api_key: 'not-a-key' }, { 'x-api-key': '' });
    const none = await form({ q: 'hello' });
    const elsewhere = await post(api, '/v1/detect', { texts: ['hello'], api_key: TEST_KEY }, { 'x-api-key': '' });

    expect(json.status).toBe(200);
    expect(json.body.translatedText).toEqual(expect.any(String));
    expect(formKeyed.status).toBe(200);
    expect(((await formKeyed.json()) as unknown[])[0]).toEqual({ language: 'fr', confidence: expect.any(Number) });
    expect(wrong.status).toBe(403);
    expect(wrong.body).toEqual({ error: GATEWAY_RESPONSES.ACCESS_DENIED.message });
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ error: expect.stringMatching(/api_key/) });
    expect(elsewhere.status).toBe(401);
  });

  it("lets /health and LibreTranslate's two GETs through without a key", async () => {
    expect(ROUTES.filter((r) => !r.apiKeyRequired && !r.bodyKey).map((r) => r.path)).toEqual([
      '/health',
      '/languages',
      '/frontend/settings',
    ]);
    expect((await call('GET', '/health', {})).status).toBe(200);
    expect((await call('GET', '/frontend/settings', {})).status).toBe(200);
  });
});

describe('usage plans', () => {
  it('answers 429 quota_exceeded once the daily quota is used up, for that key only', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < QUOTA + 2; i++)
      statuses.push((await call('GET', '/v1/status', { 'x-api-key': QUOTA_KEY })).status);
    const over = await call('POST', '/v1/predict', { 'x-api-key': QUOTA_KEY });
    const other = await call('GET', '/v1/status', { 'x-api-key': TEST_KEY });

    expect(statuses).toEqual([...Array(QUOTA).fill(200), 429, 429]);
    expect(over.status).toBe(429);
    expect(await over.json()).toEqual(gatewayBody('QUOTA_EXCEEDED'));
    expect(over.headers.get('retry-after')).toBe(String(GATEWAY_RESPONSES.QUOTA_EXCEEDED.retryAfterSeconds));
    expect(over.headers.get('x-request-id')).toBeTruthy();
    expect(other.status).toBe(200);
  });

  it('answers 429 rate_limited past the throttle of the key', async () => {
    const answers: Response[] = [];
    for (let i = 0; i < 5; i++) answers.push(await call('GET', '/v1/status', { 'x-api-key': SLOW_KEY }));
    const limited = answers.filter((r) => r.status === 429);

    expect(answers.slice(0, 2).map((r) => r.status)).toEqual([200, 200]);
    expect(limited.length).toBeGreaterThan(0);
    expect(await limited[0]!.json()).toEqual(gatewayBody('THROTTLED'));
    expect(limited[0]!.headers.get('retry-after')).toBe('1');
  });

  it("throttles a body-keyed client at its plan's burst and caps it at its daily quota (429, Retry-After)", async () => {
    const detect = (key: string) => post(api, '/detect', { q: 'Bonjour', api_key: key }, { 'x-api-key': '' });
    const burst: Awaited<ReturnType<typeof detect>>[] = [];
    for (let i = 0; i < 5; i++) burst.push(await detect(SLOW_KEY));
    const quota: number[] = [];
    for (let i = 0; i < QUOTA + 1; i++) quota.push((await detect(QUOTA_KEY)).status);
    const limited = burst.filter((r) => r.status === 429);

    expect(burst.slice(0, 2).map((r) => r.status)).toEqual([200, 200]);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]!.body).toEqual({ error: expect.stringMatching(/2 requests per 1 s/) });
    expect(limited[0]!.headers.get('retry-after')).toBe('1');
    expect(quota).toEqual([...Array(QUOTA).fill(200), 429]);
    expect((await detect(TEST_KEY)).status).toBe(200);
  });

  it('meters a Bearer key against the same plan as the same key in x-api-key', async () => {
    const answers: number[] = [];
    for (let i = 0; i < 4; i++) {
      const headers: Record<string, string> =
        i % 2 ? { authorization: `Bearer ${SLOW_KEY}` } : { 'x-api-key': SLOW_KEY };
      answers.push((await call('GET', '/v1/status', headers)).status);
    }

    expect(answers).toContain(429);
  });
});

describe('CORS', () => {
  it('allows a configured origin on the actual response and refuses any other', async () => {
    const allowed = await call('POST', '/v1/predict', { 'x-api-key': TEST_KEY, origin: ALLOWED });
    const also = await call('GET', '/v1/models', { 'x-api-key': TEST_KEY, origin: ALSO_ALLOWED });
    const disallowed = await call('POST', '/v1/predict', { 'x-api-key': TEST_KEY, origin: DISALLOWED });
    const error = await call('POST', '/v1/detect', {
      'x-api-key': TEST_KEY,
      origin: DISALLOWED,
      'content-type': 'text/plain',
    });

    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(also.headers.get('access-control-allow-origin')).toBe(ALSO_ALLOWED);
    expect(disallowed.status).toBe(200);
    expect(disallowed.headers.get('access-control-allow-origin')).toBeNull();
    expect(error.status).toBe(415);
    expect(error.headers.get('access-control-allow-origin')).toBeNull();
  });

  it("answers the preflight from the configured origins as the deployed API's mock integration does", async () => {
    const preflight = (origin: string) =>
      fetch(`${api.url}/v1/predict`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-api-key' },
      });

    const first = await preflight(ALLOWED);
    const second = await preflight(ALSO_ALLOWED);
    const other = await preflight(DISALLOWED);

    expect(first.status).toBe(204);
    expect(first.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(first.headers.get('access-control-allow-headers')).toMatch(/X-Api-Key/i);
    expect(second.headers.get('access-control-allow-origin')).toBe(ALSO_ALLOWED);
    // CDK's mock integration maps the first origin statically: never the caller's own, so the browser refuses.
    expect(other.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(other.headers.get('access-control-allow-origin')).not.toBe(DISALLOWED);
    expect(other.headers.get('vary')).toBe('Origin');
  });
});

describe('prediction log privacy', () => {
  it('keeps no raw input text in DynamoDB, from any capability', async () => {
    for (const [path, body] of loggingRequests) expect((await post(api, path, body)).status, path).toBe(200);

    const items = await scanTables(api);
    const records = items.filter((i) => typeof i.capability === 'string');

    expect(new Set(records.map((r) => r.capability))).toEqual(
      new Set(['predict', 'detect', 'translate', 'completions']),
    );
    for (const item of items) {
      expect(item.input).toBeUndefined();
      expect(JSON.stringify(item)).not.toContain(MARKER);
    }
  });
});
