import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { parseRecordsLine, RecordIngester } from '#predictions/ingest.ts';
import { modelStatesLine, recordsLines, toItem } from '#predictions/log.ts';
import { RecordWriter } from '#predictions/writer.ts';

const item = (requestId: string, index: number) => ({
  pk: `predict#m#2026-11-22`,
  sk: `${requestId}#${index}`,
  requestId,
  index,
});

/** An ingester on a fake table: `fail` decides per call whether DynamoDB throws. */
const ingesterOn = (fail: () => boolean = () => false) => {
  const written: Record<string, Array<Record<string, unknown>>> = {};
  const fallbacks: unknown[] = [];
  const updates: Array<Record<string, unknown>> = [];
  const client = {
    send: async (command: {
      input: { RequestItems: Record<string, Array<{ PutRequest: { Item: Record<string, unknown> } }>> };
    }) => {
      if (fail()) throw new Error('connect ECONNREFUSED');
      if (command.constructor.name === 'UpdateCommand') {
        updates.push(command.input as unknown as Record<string, unknown>);
        return {};
      }
      for (const [table, puts] of Object.entries(command.input.RequestItems)) {
        written[table] = [...(written[table] ?? []), ...puts.map((p) => p.PutRequest.Item)];
      }
      return {};
    },
  } as unknown as DynamoDBDocumentClient;
  const writer = new RecordWriter({
    client,
    table: 'predictions',
    logger: { error: (_m: unknown, ...extra: unknown[]) => void fallbacks.push(extra[0]) },
  });
  const applied: Array<Record<string, unknown>> = [];
  const modelStates = {
    apply: async (items: readonly Record<string, unknown>[]) => {
      applied.push(...items);
      return items.length;
    },
  };
  return {
    ingester: new RecordIngester({ writer, cacheTable: 'cache', modelStates }),
    written,
    fallbacks,
    updates,
    applied,
  };
};

describe('parseRecordsLine', () => {
  it('reads a records line, also behind a prefix (a runtime’s timestamp), and ignores every other line', () => {
    const [line] = recordsLines([item('r1', 0)]);

    expect(parseRecordsLine(line!)?.records).toEqual([item('r1', 0)]);
    expect(parseRecordsLine(`2026-11-22T10:00:00.000Z\tabc\t${line}`)?.records).toHaveLength(1);
    expect(parseRecordsLine('{"level":"INFO","message":"hello"}')).toBeUndefined();
    expect(parseRecordsLine(line!.slice(0, 40))).toBeUndefined();
  });
});

describe('RecordIngester', () => {
  it('hands model-state lines to the model-state store in the order printed, beside the records', async () => {
    const { ingester, written, applied } = ingesterOn();
    const lines = [
      modelStatesLine([{ model: 'm@1', holder: 'detect/a', state: 'loading', seq: 1 }]),
      ...recordsLines([item('r1', 0)]),
      modelStatesLine([{ model: 'm@1', holder: 'detect/a', state: 'loaded', seq: 2 }]),
    ];

    const result = await ingester.ingest(lines);

    expect(result).toMatchObject({ records: 1, skipped: 0, modelStates: 2 });
    expect(applied.map((i) => i.state)).toEqual(['loading', 'loaded']);
    expect(written.predictions).toHaveLength(1);
  });

  it('writes the records of many lines together, and the cache items beside them', async () => {
    const { ingester, written } = ingesterOn();
    const lines = [
      ...recordsLines([item('r1', 0)], [{ cacheKey: 'k' }]),
      '{"level":"INFO","message":"not a record"}',
      ...recordsLines(Array.from({ length: 30 }, (_, i) => item('r2', i))),
    ];

    const result = await ingester.ingest(lines);

    expect(result).toEqual({ records: 31, refused: 0, skipped: 1, counters: 0, countersRefused: 0, modelStates: 0 });
    expect(written.predictions?.map((r) => r.sk)).toContain('r2#29');
    expect(written.predictions).toHaveLength(31);
    expect(written.cache).toEqual([{ cacheKey: 'k' }]);
  });

  it('sends what DynamoDB refuses to fallback lines and says how many, and writes the same keys again', async () => {
    let down = true;
    const { ingester, written, fallbacks } = ingesterOn(() => down);
    const lines = recordsLines([item('r1', 0), item('r1', 1)]);

    const refused = await ingester.ingest(lines);
    down = false;
    const again = await ingester.ingest(lines);

    expect(refused.refused).toBe(2);
    expect(fallbacks).toHaveLength(2);
    expect(again).toEqual({ records: 2, refused: 0, skipped: 0, counters: 0, countersRefused: 0, modelStates: 0 });
    expect(written.predictions?.map((r) => r.sk)).toEqual(['r1#0', 'r1#1']);
  });
});

describe('RecordIngester counters', () => {
  const rec = (requestId: string, index: number, hour: string) =>
    toItem(
      {
        capability: 'predict',
        model: 'm',
        version: '1',
        requestId,
        index,
        timestamp: `2026-12-06T${hour}:10:00.000Z`,
        inputHash: 'h',
        inputLength: 4,
        latencyMs: 12,
        output: { label: 'POSITIVE', score: 0.93 },
        outcome: 'ok',
        apiKeyIdHash: 'k1',
      },
      1,
    );

  it('applies one ADD per model, hour and scope once every record of the batch is written', async () => {
    const { ingester, updates } = ingesterOn();
    const lines = recordsLines([rec('r1', 0, '03'), rec('r1', 1, '03'), rec('r2', 0, '04')]);

    const result = await ingester.ingest(lines);

    expect(result).toEqual({ records: 3, refused: 0, skipped: 0, counters: 4, countersRefused: 0, modelStates: 0 });
    expect(updates.map((u) => u.Key)).toEqual([
      { pk: 'counters#predict#m#2026-12-06', sk: 'all#2026-12-06T03' },
      { pk: 'counters#predict#m#2026-12-06', sk: 'key.k1#2026-12-06T03' },
      { pk: 'counters#predict#m#2026-12-06', sk: 'all#2026-12-06T04' },
      { pk: 'counters#predict#m#2026-12-06', sk: 'key.k1#2026-12-06T04' },
    ]);
    const first = updates[0] as {
      UpdateExpression: string;
      ExpressionAttributeNames: Record<string, string>;
      ExpressionAttributeValues: Record<string, number>;
    };
    expect(first.UpdateExpression).toMatch(/^ADD #c0 :c0, /);
    const added = Object.fromEntries(
      Object.entries(first.ExpressionAttributeNames).map(([ph, name]) => [
        name,
        first.ExpressionAttributeValues[`:${ph.slice(1)}`],
      ]),
    );
    expect(added).toMatchObject({ 'ok#total': 2, 'all#total': 2, 'outcome#ok': 2, 'ok#label#POSITIVE': 2 });
  });

  it('counts nothing for a batch with refused records: its retry (the same batch) counts it once', async () => {
    let down = true;
    const { ingester, updates } = ingesterOn(() => down);
    const lines = recordsLines([rec('r1', 0, '03')]);

    const failed = await ingester.ingest(lines);
    expect(failed.counters).toBe(0);
    expect(updates).toHaveLength(0);

    down = false;
    await ingester.ingest(lines);
    expect(updates).toHaveLength(2); // every key's item and the key's own
  });

  it('sends a counter update DynamoDB refuses to a counterFallback line, without failing the batch', async () => {
    let calls = 0;
    // The BatchWrite succeeds, the UpdateItem after it fails.
    const { ingester, fallbacks } = ingesterOn(() => calls++ > 0);

    const result = await ingester.ingest(recordsLines([rec('r1', 0, '03')]));

    expect(result).toMatchObject({ records: 1, refused: 0, counters: 0, countersRefused: 2 });
    expect(fallbacks).toEqual([
      expect.objectContaining({ counterFallback: expect.objectContaining({ sk: 'all#2026-12-06T03' }) }),
      expect.objectContaining({ counterFallback: expect.objectContaining({ sk: 'key.k1#2026-12-06T03' }) }),
    ]);
  });
});
