import { describe, expect, it } from 'vitest';
import { percentile } from '#predictions/analytics.ts';
import { counterUpdates, histogramPercentile, LATENCY_BOUNDS_MS, latencyBucket } from '#predictions/counters.ts';
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
  it('sums a batch into one update per model and hour, by label, version, outcome, key and histogram', () => {
    const updates = counterUpdates([
      record({}),
      record({ output: { label: 'NEGATIVE', score: 0.55 }, apiKeyIdHash: 'k2', version: '2', cached: true }),
      record({ outcome: 'deadline', output: {} }),
      record({ timestamp: '2026-12-06T04:00:00.000Z' }),
    ]);

    expect(updates.map((u) => [u.pk, u.sk])).toEqual([
      ['counters#predict#m#2026-12-06', '2026-12-06T03'],
      ['counters#predict#m#2026-12-06', '2026-12-06T04'],
    ]);
    expect(updates[0]!.add).toMatchObject({
      total: 3,
      'outcome#ok': 2,
      'outcome#deadline': 1,
      'version#1': 1,
      'version#2': 1,
      'label#POSITIVE': 1,
      'label#NEGATIVE': 1,
      'key#k1#total': 2,
      'key#k1#label#POSITIVE': 1,
      'key#k2#label#NEGATIVE': 1,
      'key#k1#outcome#deadline': 1,
      'confidence#9': 1,
      'confidence#5': 1,
      cached: 1,
    });
    // Only delivered answers count in the answer dimensions.
    const latencies = Object.entries(updates[0]!.add).filter(([k]) => k.startsWith('latency#'));
    expect(latencies.reduce((n, [, c]) => n + c, 0)).toBe(2);
  });

  it('costs in buckets, not records: 10,000 records of one hour are one update', () => {
    const many = Array.from({ length: 10_000 }, (_, i) => record({ index: i, latencyMs: i % 500 }));

    const updates = counterUpdates(many);

    expect(updates).toHaveLength(1);
    expect(updates[0]!.add.total).toBe(10_000);
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
