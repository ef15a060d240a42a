import { describe, expect, it } from 'vitest';
import {
  hashApiKeyId,
  PredictionLog,
  type PredictionRecord,
  RECORDS_LINE_PREFIX,
  recordsLines,
  sha256Hex,
  toItem,
} from '#predictions/log.ts';

const record = (index: number, input?: string): PredictionRecord => ({
  capability: 'predict',
  model: 'm',
  version: '1',
  requestId: 'r1',
  index,
  timestamp: '2026-11-22T10:00:00.000Z',
  latencyMs: 5,
  output: { label: 'POSITIVE', score: 0.9 },
  inputHash: 'h',
  inputLength: 3,
  ...(input ? { input } : {}),
});

/** A log that keeps the lines it would print. */
const logWith = (companions?: () => Record<string, unknown>[] | undefined) => {
  const printed: string[] = [];
  const log = new PredictionLog({ ttlDays: 1, print: (line) => void printed.push(line), companions });
  return { log, printed, parsed: () => printed.map((l) => JSON.parse(l) as { records: unknown[]; cache?: unknown[] }) };
};

describe('PredictionLog', () => {
  it('prints a request’s records as one structured line of table items, synchronously', () => {
    const { log, printed, parsed } = logWith();

    const returned = log.write([record(0), record(1)]);

    expect(returned).toBeUndefined();
    expect(printed).toHaveLength(1);
    expect(printed[0]!.startsWith(RECORDS_LINE_PREFIX)).toBe(true);
    expect(printed[0]).not.toContain('\n');
    expect(parsed()[0]!.records).toEqual([toItem(record(0), 1), toItem(record(1), 1)]);
  });

  it('puts the result cache’s pending items on the first line, taken once', () => {
    let pending = [{ cacheKey: 'a' }, { cacheKey: 'b' }];
    const { log, parsed } = logWith(() => pending.splice(0));

    log.write([record(0)]);
    log.write([record(1)]);

    expect(parsed()[0]!.cache).toEqual([{ cacheKey: 'a' }, { cacheKey: 'b' }]);
    expect(parsed()[1]!.cache).toBeUndefined();
    pending = [{ cacheKey: 'c' }];
    log.write([]);
    expect(parsed()[2]).toEqual({ type: 'predictionRecords', records: [], cache: [{ cacheKey: 'c' }] });
  });

  it('prints nothing for a request without records or cache items', () => {
    const { log, printed } = logWith(() => undefined);

    log.write([]);

    expect(printed).toEqual([]);
  });

  it('splits a batch into lines of 25 records, and long inputs into lines under 200,000 characters', () => {
    const batch = recordsLines(Array.from({ length: 30 }, (_, i) => toItem(record(i), 1)));
    const long = recordsLines(Array.from({ length: 4 }, (_, i) => toItem(record(i, 'x'.repeat(80_000)), 1)));

    expect(batch.map((l) => (JSON.parse(l) as { records: unknown[] }).records.length)).toEqual([25, 5]);
    expect(long.length).toBeGreaterThan(1);
    expect(long.every((l) => l.length < 200_000)).toBe(true);
    expect(
      long.flatMap((l) => (JSON.parse(l) as { records: Array<{ index: number }> }).records.map((r) => r.index)),
    ).toEqual([0, 1, 2, 3]);
  });
});

describe('hashApiKeyId', () => {
  it('hashes each key id to its own 16 hex digits, whichever came before', () => {
    const of = (id: string) => sha256Hex(`api-key:${id}`).slice(0, 16);

    const hashes = ['k1', 'k1', 'k2', 'k1'].map((id) => hashApiKeyId(id));

    expect(hashes).toEqual([of('k1'), of('k1'), of('k2'), of('k1')]);
    expect(hashApiKeyId(undefined)).toBeUndefined();
    expect(hashApiKeyId(null)).toBeUndefined();
  });
});
