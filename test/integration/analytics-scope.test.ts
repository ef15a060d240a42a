import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '#local/stack.ts';
import { get, post, startTestApi, TEST_KEY } from '../helpers/local-api.ts';

/**
 * Tenant isolation of the activity routes (issue 23.4): a key sees its own analytics and
 * no instance-wide activity on /v1/status; an admin key (TEST_KEY here) sees every key's.
 */
const A = 'tenant-a';
const B = 'tenant-b';
const day = () => {
  const now = Date.now();
  return `from=${new Date(now - 3_600_000).toISOString()}&to=${new Date(now + 60_000).toISOString()}`;
};
const as = (key: string) => ({ 'x-api-key': key });

let api: LocalStack;
beforeAll(async () => {
  api = await startTestApi({}, { LOCAL_API_KEY: `${TEST_KEY}:1000:1000,${A}:1000:1000,${B}:1000:1000` });
  for (const text of ['I love it', 'I hate it', 'What a day']) {
    expect((await post(api, '/v1/predict', { text }, as(A))).status).toBe(200);
  }
  expect((await post(api, '/v1/predict', { text: 'Fine' }, as(B))).status).toBe(200);
});
afterAll(async () => api?.close());

describe('analytics scoped to the caller', () => {
  it("counts a key's own records only, and every key's for an admin key", async () => {
    const summaryAs = (k: string) => get(api, `/v1/analytics/summary?${day()}`, as(k));
    const [a, b, admin] = await Promise.all([summaryAs(A), summaryAs(B), summaryAs(TEST_KEY)]);

    expect([a.status, b.status, admin.status]).toEqual([200, 200, 200]);
    expect([a.body.total, b.body.total, admin.body.total]).toEqual([3, 1, 4]);
  });

  it('scopes the timeseries the same way', async () => {
    const pageAs = (k: string) => get(api, `/v1/analytics/timeseries?bucket=day&${day()}`, as(k));
    const [b, admin] = await Promise.all([pageAs(B), pageAs(TEST_KEY)]);
    const total = (page: Record<string, unknown>) =>
      (page.buckets as Array<{ count: number }>).reduce((n, x) => n + x.count, 0);

    expect(total(b.body)).toBe(1);
    expect(total(admin.body)).toBe(4);
  });

  it('refuses an unknown outcome filter with a 400 that names the choices', async () => {
    const res = await get(api, `/v1/analytics/summary?outcome=some`, as(A));

    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('must be \\"ok\\" (delivered answers, the default) or \\"all\\"');
  });
});

describe('/v1/status activity', () => {
  it("hides the instance's activity counters from a key that is not an admin key", async () => {
    const [b, admin] = await Promise.all([get(api, '/v1/status', as(B)), get(api, '/v1/status', as(TEST_KEY))]);

    expect(b.body.inference).toBeNull();
    expect(b.body.resultCache).toBeNull();
    for (const m of b.body.models as Array<Record<string, unknown>>) {
      expect(m).not.toHaveProperty('hits');
      expect(m).not.toHaveProperty('lastUsedAt');
    }
    expect(admin.body.inference).toMatchObject({ texts: expect.any(Number) });
    expect((admin.body.inference as { texts: number }).texts).toBeGreaterThanOrEqual(4);
    expect((admin.body.models as Array<{ hits: number }>)[0]?.hits).toBeGreaterThan(0);
  });
});
