import { readFileSync } from 'node:fs';
import { QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  bucketStarts,
  daysOf,
  parseRange,
  percentile,
  summarize,
  summary,
  timeseries,
} from '#predictions/analytics.ts';
import { counterUpdates, LATENCY_BOUNDS_MS, sumView } from '#predictions/counters.ts';
import type { PredictionRecord } from '#predictions/log.ts';
import { ValidationError } from '#runtime/errors.ts';

const DIGITS = 12;
/** Items per Query page in the fake: small, so pagination is always exercised. */
const PAGE_SIZE = 2;

/** The counter items the ingester's ADDs leave in the table for these records. */
const counterItems = (records: PredictionRecord[]): Array<Record<string, unknown>> => {
  const items = new Map<string, Record<string, unknown>>();
  // One batch per record at most, as the ingester may: pairs need both sides in one batch.
  for (const u of counterUpdates(records)) {
    const item = items.get(`${u.pk}\n${u.sk}`) ?? { pk: u.pk, sk: u.sk };
    for (const [k, n] of Object.entries(u.add)) item[k] = ((item[k] as number | undefined) ?? 0) + n;
    items.set(`${u.pk}\n${u.sk}`, item);
  }
  return [...items.values()];
};

/**
 * A DynamoDB document client that answers Query on the table's keys (pk equality, sk
 * BETWEEN, pages of PAGE_SIZE) and fails on anything else: a Scan would fail the test.
 * It holds the counter items of `records`, and counts the items it returns.
 */
const fakeTable = (records: PredictionRecord[]) => {
  const items = counterItems(records).sort((a, b) => String(a.sk).localeCompare(String(b.sk)));
  const queries: QueryCommandInput[] = [];
  const read = { items: 0 };
  const client = {
    send: async (command: unknown) => {
      if (!(command instanceof QueryCommand)) {
        throw new Error(`unexpected ${(command as object).constructor.name}: analytics must only Query`);
      }
      const input = command.input;
      queries.push(input);
      expect(input.KeyConditionExpression).toBe('#pk = :pk AND #sk BETWEEN :from AND :to');
      const v = input.ExpressionAttributeValues!;
      const after = input.ExclusiveStartKey?.sk as string | undefined;
      const matching = items.filter(
        (i) =>
          i.pk === v[':pk'] &&
          String(i.sk) >= v[':from'] &&
          String(i.sk) <= v[':to'] &&
          (!after || String(i.sk) > after),
      );
      const page = matching.slice(0, PAGE_SIZE);
      read.items += page.length;
      return {
        Items: page,
        LastEvaluatedKey: matching.length > PAGE_SIZE ? { pk: v[':pk'], sk: page[page.length - 1]!.sk } : undefined,
      };
    },
  };
  return { client, queries, read };
};

let seq = 0;
const rec = (over: Partial<PredictionRecord> & { timestamp: string }): PredictionRecord => ({
  capability: 'predict',
  model: 'm',
  version: '1',
  requestId: `r${seq++}`,
  index: 0,
  latencyMs: 10,
  output: { label: 'POSITIVE', score: 0.75 },
  inputHash: 'h',
  inputLength: 1,
  ...over,
});

describe('parseRange', () => {
  const NOW = Date.parse('2026-11-22T12:00:00Z');

  it('defaults to the last 24 hours', () => {
    const r = parseRange(undefined, undefined, NOW);

    expect(r.from.toISOString()).toBe('2026-11-21T12:00:00.000Z');
    expect(r.to.toISOString()).toBe('2026-11-22T12:00:00.000Z');
  });

  it('reads a date alone as the whole UTC day', () => {
    const r = parseRange('2026-11-20', '2026-11-21', NOW);

    expect(r.from.toISOString()).toBe('2026-11-20T00:00:00.000Z');
    expect(r.to.toISOString()).toBe('2026-11-21T23:59:59.999Z');
  });

  it.each([
    ['yesterday', undefined, /from: "yesterday" is not an ISO 8601 date/],
    ['2026-11-22T10:00:00', undefined, /not an ISO 8601 date or UTC date-time/],
    ['2026-11-22', '2026-11-01', /is after to .* swap them/],
    ['2026-01-01', '2026-03-01', /longer than 31 days/],
  ])('from=%s to=%s is a 400 that says how to fix it', (from, to, message) => {
    expect(() => parseRange(from, to, NOW)).toThrow(ValidationError);
    expect(() => parseRange(from, to, NOW)).toThrow(message);
  });

  it('touches one day partition per UTC day', () => {
    expect(daysOf(parseRange('2026-11-20T23:00:00Z', '2026-11-22T01:00:00Z'))).toEqual([
      '2026-11-20',
      '2026-11-21',
      '2026-11-22',
    ]);
  });
});

describe('percentile (nearest rank)', () => {
  it('matches the textbook example (15, 20, 35, 40, 50)', () => {
    const values = [15, 20, 35, 40, 50];

    expect(percentile(values, 5)).toBe(15);
    expect(percentile(values, 30)).toBe(20);
    expect(percentile(values, 40)).toBe(20);
    expect(percentile(values, 50)).toBe(35);
    expect(percentile(values, 100)).toBe(50);
  });

  it('takes p95 and p99 of 1..100 as 95 and 99, and is null without values', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);

    expect([percentile(values, 50), percentile(values, 95), percentile(values, 99)]).toEqual([50, 95, 99]);
    expect(percentile([], 50)).toBeNull();
  });
});

describe('summarize', () => {
  it('counts labels, versions, histogram, percentiles, agreement and cache hits', () => {
    const t = '2026-11-22T10:00:00.000Z';
    const records = [
      rec({ timestamp: t, output: { label: 'POSITIVE', score: 0.55 }, latencyMs: 4 }),
      rec({ timestamp: t, output: { label: 'NEGATIVE', score: 0.91 }, latencyMs: 8, version: '2', cached: true }),
      rec({ timestamp: t, output: { label: 'NEGATIVE', score: 1 }, latencyMs: 2 }),
      rec({ timestamp: t, output: { label: 'NEGATIVE', score: 0.6 }, comparisonId: 'c', side: 'a', index: 0 }),
      rec({ timestamp: t, output: { label: 'NEGATIVE', score: 0.7 }, comparisonId: 'c', side: 'b', index: 0 }),
      rec({ timestamp: t, output: { label: 'NEGATIVE', score: 0.6 }, comparisonId: 'c', side: 'a', index: 1 }),
      rec({ timestamp: t, output: { label: 'POSITIVE', score: 0.6 }, comparisonId: 'c', side: 'b', index: 1 }),
    ];
    const everyKey = counterItems(records).filter((i) => String(i.sk).startsWith('all#'));

    const s = summarize(sumView(everyKey, 'ok'));

    expect(s.total).toBe(7);
    expect(s.byLabel).toEqual({ POSITIVE: 2, NEGATIVE: 5 });
    expect(s.byVersion).toEqual({ '1': 6, '2': 1 });
    expect(s.confidenceHistogram.map((b) => b.count)).toEqual([0, 0, 0, 0, 0, 1, 3, 1, 0, 2]);
    // latencies sorted: 2, 4, 8, 10, 10, 10, 10 → ranks ceil(3.5)=4, ceil(6.65)=7, ceil(6.93)=7: 10 ms
    // exactly, read from the histogram as the upper bound of 10's bucket (counters.ts).
    const bound = LATENCY_BOUNDS_MS.find((b) => b >= 10);
    expect(bound).toBe(12);
    expect(s.latencyMs).toEqual({ p50: bound, p95: bound, p99: bound, count: 7 });
    expect(s.comparisons).toEqual({ pairs: 2, agreed: 1, agreementRate: 0.5 });
    expect(s.cache.hitRate).toBeCloseTo(1 / 7, DIGITS);
  });
});

describe('queries (a fake table that fails on anything but Query)', () => {
  const records = [
    rec({ timestamp: '2026-11-20T23:30:00.000Z', output: { label: 'NEGATIVE', score: 0.8 } }),
    rec({ timestamp: '2026-11-21T00:10:00.000Z' }),
    rec({ timestamp: '2026-11-21T00:20:00.000Z' }),
    rec({ timestamp: '2026-11-21T00:30:00.000Z', output: { label: 'NEGATIVE', score: 0.8 } }),
    rec({ timestamp: '2026-11-21T02:00:00.000Z' }),
    rec({ timestamp: '2026-11-21T05:00:00.000Z' }), // outside the range below
    rec({ timestamp: '2026-11-21T01:00:00.000Z', model: 'other' }),
  ];
  const range = parseRange('2026-11-20T23:00:00Z', '2026-11-21T02:59:59Z');

  it('summary reads every day partition of the range, page by page', async () => {
    const { client, queries } = fakeTable(records);

    const s = await summary(client, 't', { model: 'm', range });

    expect(s.total).toBe(5);
    expect(s.byLabel).toEqual({ NEGATIVE: 2, POSITIVE: 3 });
    expect(s.partitionsQueried).toBe(2);
    expect(new Set(queries.map((q) => q.ExpressionAttributeValues![':pk']))).toEqual(
      new Set(['counters#predict#m#2026-11-20', 'counters#predict#m#2026-11-21']),
    );
  });

  it('summary reads a key its own counters and, per outcome view, delivered answers or all', async () => {
    const t = '2026-11-21T00:10:00.000Z';
    const { client } = fakeTable([
      rec({ timestamp: t, apiKeyIdHash: 'k1' }),
      rec({ timestamp: t, apiKeyIdHash: 'k1', outcome: 'deadline', output: {} }),
      rec({ timestamp: t, apiKeyIdHash: 'k2', output: { label: 'NEGATIVE', score: 0.8 } }),
    ]);
    const as = (keyHash: string | undefined, outcome: 'ok' | 'all') =>
      summary(client, 't', { model: 'm', range, scope: { keyHash, outcome } });

    const [k1, k1All, k2, admin, adminAll] = await Promise.all([
      as('k1', 'ok'),
      as('k1', 'all'),
      as('k2', 'ok'),
      as(undefined, 'ok'),
      as(undefined, 'all'),
    ]);

    expect([k1.total, k1All.total, k2.total, admin.total, adminAll.total]).toEqual([1, 2, 1, 2, 3]);
    expect(k2.byLabel).toEqual({ NEGATIVE: 1 });
    expect(admin.byLabel).toEqual({ POSITIVE: 1, NEGATIVE: 1 });
  });

  it('reads as many items for 10,000 records as for 10: its cost follows the hours, not the records', async () => {
    const readFor = async (n: number) => {
      const many = Array.from({ length: n }, (_, i) =>
        rec({
          timestamp: new Date(
            Date.parse('2026-11-20T23:00:00Z') + (i % 4) * 3_600_000 + ((i * 7919) % 3_600_000),
          ).toISOString(),
          apiKeyIdHash: `k${i % 3}`,
          latencyMs: i % 300,
        }),
      );
      const { client, read, queries } = fakeTable(many);
      const s = await summary(client, 't', { model: 'm', range, scope: { outcome: 'ok' } });
      return { total: s.total, items: read.items, queries: queries.length };
    };

    const [small, large] = [await readFor(10), await readFor(10_000)];

    expect([small.total, large.total]).toEqual([10, 10_000]);
    // Four hours of the range: four items of the every-key scope, in two day partitions.
    expect(large.items).toBe(4);
    expect(large).toEqual({ ...small, total: 10_000 });
  });

  it('timeseries pages through hour buckets with an opaque nextToken bound to the query', async () => {
    const { client } = fakeTable(records);

    const first = await timeseries(client, 't', { model: 'm', range, bucket: 'hour', limit: 2 });
    const second = await timeseries(client, 't', {
      model: 'm',
      range,
      bucket: 'hour',
      limit: 2,
      nextToken: first.nextToken,
    });

    expect(bucketStarts(range, 'hour')).toHaveLength(4);
    expect(first.buckets).toEqual([
      { start: '2026-11-20T23:00:00.000Z', count: 1, byLabel: { NEGATIVE: 1 } },
      { start: '2026-11-21T00:00:00.000Z', count: 3, byLabel: { POSITIVE: 2, NEGATIVE: 1 } },
    ]);
    expect(first.nextToken).toEqual(expect.any(String));
    expect(second.buckets).toEqual([
      { start: '2026-11-21T01:00:00.000Z', count: 0, byLabel: {} },
      { start: '2026-11-21T02:00:00.000Z', count: 1, byLabel: { POSITIVE: 1 } },
    ]);
    expect(second.nextToken).toBeUndefined();
    await expect(
      timeseries(client, 't', { model: 'm', range, bucket: 'day', limit: 2, nextToken: first.nextToken }),
    ).rejects.toThrow(/nextToken does not belong to this query/);
  });

  it('the analytics module never builds a Scan', () => {
    const source = readFileSync('layers/predictions/analytics.ts', 'utf8');

    expect(source).not.toMatch(/ScanCommand|ParallelScan|paginateScan/);
  });
});
