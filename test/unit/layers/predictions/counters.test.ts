import { describe, expect, it } from 'vitest';
import { percentile } from '#predictions/analytics.ts';
import {
  counterUpdates,
  histogramPercentile,
  LATENCY_BOUNDS_MS,
  latencyBucket,
  sumView,
} from '#predictions/counters.ts';
import type { PredictionRecord } from '#predictions/log.ts';

const record = (over: Partial<PredictionRecord>): PredictionRecord => ({
  capability: 'predict',
  model: 'm',
  version: '1',
  requestId: 'r',
  index: 0,
  timestamp: '2026-12-06T03:10:00.000Z',
  inputHash: 'h',
  inputLength: 4,
  latencyMs: 12,
  output: { label: 'POSITIVE', score: 0.93 },
  outcome: 'ok',
  billable: { characters: 4 },
  apiKeyIdHash: 'k1',
  ...over,
});

describe('counterUpdates', () => {
  it('sums a batch into one update per model, hour and scope (every key, and each key), per outcome view', () => {
    const updates = counterUpdates([
      record({}),
      record({ output: { label: 'NEGATIVE', score: 0.55 }, apiKeyIdHash: 'k2', version: '2', cached: true }),
      record({ outcome: 'deadline', output: {} }),
      record({ timestamp: '2026-12-06T04:00:00.000Z' }),
    ]);

    expect(updates.map((u) => [u.pk, u.sk])).toEqual([
      ['counters#predict#m#2026-12-06', 'all#2026-12-06T03'],
      ['counters#predict#m#2026-12-06', 'key.k1#2026-12-06T03'],
      ['counters#predict#m#2026-12-06', 'key.k2#2026-12-06T03'],
      ['counters#predict#m#2026-12-06', 'all#2026-12-06T04'],
      ['counters#predict#m#2026-12-06', 'key.k1#2026-12-06T04'],
    ]);
    expect(updates[0]!.add).toMatchObject({
      'outcome#ok': 2,
      'outcome#deadline': 1,
      'ok#total': 2,
      'all#total': 3,
      'ok#version#1': 1,
      'ok#version#2': 1,
      'all#version#1': 2,
      'ok#label#POSITIVE': 1,
      'ok#label#NEGATIVE': 1,
      'ok#confidence#9': 1,
      'ok#confidence#5': 1,
      'ok#cached': 1,
    });
    expect(updates[1]!.add).toMatchObject({ 'ok#total': 1, 'all#total': 2, 'outcome#deadline': 1 });
    expect(updates[1]!.add).not.toHaveProperty('ok#label#NEGATIVE');
    expect(updates[2]!.add).toMatchObject({ 'ok#total': 1, 'ok#label#NEGATIVE': 1, 'ok#cached': 1 });
    // Only delivered answers count in the ok view; every outcome in the all view.
    const latencies = (view: string) =>
      Object.entries(updates[0]!.add)
        .filter(([k]) => k.startsWith(`${view}#latency#`))
        .reduce((n, [, c]) => n + c, 0);
    expect([latencies('ok'), latencies('all')]).toEqual([2, 3]);
  });

  it('counts a compare pair complete in the batch, at side a, in the views both sides are in', () => {
    const side = (s: 'a' | 'b', index: number, label: string, outcome: 'ok' | 'deadline' = 'ok') =>
      record({ comparisonId: 'c', side: s, index, output: { label, score: 0.9 }, outcome });
    const [all] = counterUpdates([
      side('a', 0, 'POSITIVE'),
      side('b', 0, 'POSITIVE'),
      side('a', 1, 'POSITIVE'),
      side('b', 1, 'NEGATIVE'),
      side('a', 2, 'POSITIVE'),
      side('b', 2, 'POSITIVE', 'deadline'),
      side('a', 3, 'POSITIVE'), // its side b is in no batch here: no pair
    ]);

    expect(all!.add).toMatchObject({ 'ok#pairs': 2, 'ok#agreed': 1, 'all#pairs': 3, 'all#agreed': 2 });
  });

  it('sumView adds the items of one view, without its prefix', () => {
    expect(
      sumView(
        [
          { 'ok#total': 2, 'all#total': 3, pk: 'x' },
          { 'ok#total': 1, 'ok#label#A': 1 },
        ],
        'ok',
      ),
    ).toEqual({
      total: 3,
      'label#A': 1,
    });
  });

  it('costs in buckets, not records: 10,000 records of one hour are one update', () => {
    const many = Array.from({ length: 10_000 }, (_, i) => record({ index: i, latencyMs: i % 500 }));

    const updates = counterUpdates(many);

    expect(updates).toHaveLength(2); // every key's item and k1's
    expect(updates[0]!.add['ok#total']).toBe(10_000);
  });
});

describe('histogramPercentile', () => {
  it('over-states the exact nearest-rank percentile by less than 25 % + 1 ms', () => {
    const latencies = Array.from({ length: 2_000 }, (_, i) => Math.round(1 + ((i * 7919) % 3_000) ** 1.1 / 10));
    const counts: Record<string, number> = {};
    for (const ms of latencies)
      counts[`latency#${latencyBucket(ms)}`] = (counts[`latency#${latencyBucket(ms)}`] ?? 0) + 1;
    const sorted = [...latencies].sort((a, b) => a - b);

    for (const p of [50, 90, 95, 99]) {
      const exact = percentile(sorted, p)!;
      const estimate = histogramPercentile(counts, p)!;
      expect(estimate).toBeGreaterThanOrEqual(exact);
      expect(estimate).toBeLessThan(exact * 1.25 + 1);
    }
    expect(histogramPercentile({}, 95)).toBeNull();
    expect(histogramPercentile({ 'latency#inf': 1 }, 50)).toBe(LATENCY_BOUNDS_MS.at(-1));
  });
});
