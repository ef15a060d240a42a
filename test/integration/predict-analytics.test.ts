import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '#local/stack.ts';
import { LATENCY_BOUNDS_MS } from '#predictions/counters.ts';
import { get, post, recordsOf, startTestApi } from '../helpers/local-api.ts';
import { featureRegistry, goldenOf, MODEL } from './predict-registry.ts';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

type Row = Record<string, unknown> & { output: { label: string; score: number }; latencyMs: number; timestamp: string };

let api: LocalStack;
let from: string;
let to: string;
/** Every record this file created, read back through the byRequest index. */
const records: Row[] = [];
/** What the responses said: cache hits and compare agreement, counted independently of the log. */
const said = { hits: 0, pairs: 0, agreed: 0 };

const countCached = (results: Array<{ cached?: boolean }>) => {
  said.hits += results.filter((r) => r.cached === true).length;
};

beforeAll(async () => {
  api = await startTestApi({ MODELS_DIR: await featureRegistry() });
  const texts = (await goldenOf('1')).map((c) => c.text);
  from = new Date(Date.now() - MINUTE_MS).toISOString();
  const requestIds: string[] = [];
  const send = async (path: string, body: unknown) => {
    const res = await post(api, path, body);
    expect(res.status).toBe(200);
    requestIds.push(res.body.requestId as string);
    return res.body;
  };

  // Four single predictions (v1 by prod), two of them repeated: the repeats are cache hits.
  for (const text of [texts[0], texts[1], texts[2], texts[3], texts[0], texts[1]]) {
    countCached([(await send('/v1/predict', { text })) as { cached: boolean }]);
  }
  // A batch on v2.
  countCached((await send('/v1/predict/batch', { texts: texts.slice(4, 7), model: `${MODEL}@2` })).results as []);
  // A comparison of v1 and v2 over three texts (v1's answers are cached by now).
  const compare = await send('/v1/predict/compare', { texts: texts.slice(0, 3), versions: ['1', '2'] });
  for (const r of compare.results as Array<{ a: { cached: boolean }; b: { cached: boolean }; agree: boolean }>) {
    countCached([r.a, r.b]);
    said.pairs += 1;
    said.agreed += r.agree ? 1 : 0;
  }
  // The same ensemble twice: the second time its members answer from the cache.
  for (let i = 0; i < 2; i++) {
    const e = await send('/v1/predict', {
      text: texts[7],
      ensemble: { members: [`${MODEL}@1`, `${MODEL}@2`], method: 'soft' },
    });
    countCached(e.members as []);
  }
  to = new Date(Date.now() + MINUTE_MS).toISOString();
  for (const id of requestIds) records.push(...((await recordsOf(api, id)) as Row[]));
});
afterAll(async () => api?.close());

const ofModel = (model: string) => records.filter((r) => r.model === model);
const countsBy = (rows: Row[], key: (r: Row) => string) =>
  rows.reduce<Record<string, number>>((acc, r) => {
    acc[key(r)] = (acc[key(r)] ?? 0) + 1;
    return acc;
  }, {});
/** Nearest rank, computed here independently of the module under test. */
const nearestRank = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.ceil((p / 100) * values.length) - 1];

/** The upper bound of the latency histogram bucket holding a value (LATENCY_BOUNDS_MS). */
const bucketBound = (ms: number) => LATENCY_BOUNDS_MS.find((b) => ms <= b) ?? LATENCY_BOUNDS_MS.at(-1);

describe('GET /v1/analytics/summary', () => {
  it('returns exactly the counts, histogram, percentiles, agreement and cache hit rate of the log', async () => {
    const rows = ofModel(MODEL);
    const histogram = Array.from({ length: 10 }, () => 0);
    for (const r of rows) histogram[Math.min(9, Math.floor(r.output.score * 10))]! += 1;
    const latencies = rows.map((r) => r.latencyMs);

    const { status, body } = await get(api, `/v1/analytics/summary?model=${MODEL}&from=${from}&to=${to}`);

    expect(status).toBe(200);
    // 6 singles + 3 batch + 2×3 compare + 2×2 ensemble members
    expect(rows).toHaveLength(19);
    expect(body.total).toBe(19);
    expect(body.byLabel).toEqual(countsBy(rows, (r) => r.output.label));
    expect(body.byVersion).toEqual(countsBy(rows, (r) => String(r.version)));
    expect((body.confidenceHistogram as Array<{ count: number }>).map((b) => b.count)).toEqual(histogram);
    // Read from the counters' latency histogram: the upper bound of the bucket holding the
    // exact nearest-rank value (the precision layers/predictions/counters.ts documents).
    expect(body.latencyMs).toEqual({
      p50: bucketBound(nearestRank(latencies, 50)!),
      p95: bucketBound(nearestRank(latencies, 95)!),
      p99: bucketBound(nearestRank(latencies, 99)!),
      count: 19,
    });
    expect(body.comparisons).toEqual({ pairs: 3, agreed: said.agreed, agreementRate: said.agreed / 3 });
    expect(said.hits).toBeGreaterThanOrEqual(7); // 2 repeats + 3 compare side a + 2 ensemble members
    expect(body.cache).toEqual({ hits: said.hits, lookups: 19, hitRate: said.hits / 19 });
  });

  it('defaults to the last 24 hours', async () => {
    const { body } = await get(api, `/v1/analytics/summary?model=${MODEL}`);

    expect(body.total).toBe(19);
  });

  it('summarises ensembles under the model name "ensemble"', async () => {
    const rows = ofModel('ensemble');

    const { body } = await get(api, `/v1/analytics/summary?model=ensemble&from=${from}&to=${to}`);

    expect(rows).toHaveLength(2);
    expect(body.total).toBe(2);
    expect(body.byLabel).toEqual(countsBy(rows, (r) => r.output.label));
    expect(body.byVersion).toEqual({ [`${MODEL}@1+${MODEL}@2`]: 2 });
  });
});

describe('GET /v1/analytics/timeseries', () => {
  it('counts per hour and label, page by page through nextToken', async () => {
    const rows = ofModel(MODEL);
    const start = new Date(Date.parse(from) - 2 * HOUR_MS).toISOString();
    const expected = countsBy(rows, (r) =>
      new Date(Math.floor(Date.parse(r.timestamp) / HOUR_MS) * HOUR_MS).toISOString(),
    );

    const buckets: Array<{ start: string; count: number; byLabel: Record<string, number> }> = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const query = `model=${MODEL}&bucket=hour&from=${start}&to=${to}&limit=1${token ? `&nextToken=${token}` : ''}`;
      const { status, body } = await get(api, `/v1/analytics/timeseries?${query}`);
      expect(status).toBe(200);
      buckets.push(...(body.buckets as typeof buckets));
      token = body.nextToken as string | undefined;
      pages += 1;
    } while (token);

    expect(pages).toBe(buckets.length);
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(Object.fromEntries(buckets.filter((b) => b.count > 0).map((b) => [b.start, b.count]))).toEqual(expected);
    const labels = buckets.reduce<Record<string, number>>((acc, b) => {
      for (const [l, n] of Object.entries(b.byLabel)) acc[l] = (acc[l] ?? 0) + n;
      return acc;
    }, {});
    expect(labels).toEqual(countsBy(rows, (r) => r.output.label));
  });

  it('counts per day in one page', async () => {
    const { body } = await get(api, `/v1/analytics/timeseries?model=${MODEL}&bucket=day&from=${from}&to=${to}`);

    const total = (body.buckets as Array<{ count: number }>).reduce((n, b) => n + b.count, 0);
    expect(total).toBe(19);
    expect(body.nextToken).toBeUndefined();
  });
});

describe('analytics reject bad queries with a 400 that says what to fix', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['from after to', 'summary?from=2026-11-22&to=2026-11-01', /is after to .* swap them/],
    ['range over 31 days', 'summary?from=2026-01-01&to=2026-03-01', /longer than 31 days/],
    ['not a date', 'summary?from=yesterday', /from: "yesterday" is not an ISO 8601 date/],
    ['local time without zone', 'summary?to=2026-11-22T10:00:00', /UTC date-time/],
    ['model with a version', `summary?model=${MODEL}@1`, /without "@"/],
    ['unknown model', 'summary?model=nope', /Unknown model "nope". Use one of \[.*"ensemble"\]/],
    ['unknown parameter', 'summary?modle=x', /modle/],
    ['missing bucket', 'timeseries', /^bucket: must be one of \["hour", "day"\]/],
    ['bad bucket', 'timeseries?bucket=week', /must be one of \["hour", "day"\]/],
    ['limit 0', 'timeseries?bucket=day&limit=0', /limit: must be at least 1/],
    ['foreign nextToken', 'timeseries?bucket=day&nextToken=abc', /nextToken does not belong to this query/],
  ];

  it.each(cases)('%s', async (_name, path, message) => {
    const res = await get(api, `/v1/analytics/${path}`);

    expect(res.status).toBe(400);
    expect((res.body.error as { message: string }).message).toMatch(message);
  });
});
