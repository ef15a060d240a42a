import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { parseRecordsLine, RecordIngester } from '#predictions/ingest.ts';
import { recordsLines } from '#predictions/log.ts';
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
  const client = {
    send: async (command: {
      input: { RequestItems: Record<string, Array<{ PutRequest: { Item: Record<string, unknown> } }>> };
    }) => {
      if (fail()) throw new Error('connect ECONNREFUSED');
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
  return { ingester: new RecordIngester({ writer, cacheTable: 'cache' }), written, fallbacks };
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
  it('writes the records of many lines together, and the cache items beside them', async () => {
    const { ingester, written } = ingesterOn();
    const lines = [
      ...recordsLines([item('r1', 0)], [{ cacheKey: 'k' }]),
      '{"level":"INFO","message":"not a record"}',
      ...recordsLines(Array.from({ length: 30 }, (_, i) => item('r2', i))),
    ];

    const result = await ingester.ingest(lines);

    expect(result).toEqual({ records: 31, refused: 0, skipped: 1 });
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
    expect(again).toEqual({ records: 2, refused: 0, skipped: 0 });
    expect(written.predictions?.map((r) => r.sk)).toEqual(['r1#0', 'r1#1']);
  });
});
