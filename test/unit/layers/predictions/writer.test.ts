import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { Breaker } from '#predictions/breaker.ts';
import { type PredictionRecord, toItem } from '#predictions/log.ts';
import { RecordWriter } from '#predictions/writer.ts';

const record = (index: number): PredictionRecord => ({
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
});
/** The table item of record `index` (what the ingester hands the writer). */
const item = (index: number) => toItem(record(index), 1);
const items = (count: number) => Array.from({ length: count }, (_, i) => item(i));

const fakeClient = (behaviour: (items: unknown[]) => unknown) => {
  const calls: unknown[][] = [];
  const client = {
    send: async (command: { input: { RequestItems: Record<string, Array<{ PutRequest: { Item: unknown } }>> } }) => {
      const items = Object.values(command.input.RequestItems)[0]!.map((r) => r.PutRequest.Item);
      calls.push(items);
      return behaviour(items);
    },
  } as unknown as DynamoDBDocumentClient;
  return { client, calls };
};

/** A log on table `t` that keeps what it would print as fallback lines. */
const logOn = (client: DynamoDBDocumentClient, breaker?: Breaker) => {
  const logged: Array<Record<string, unknown>> = [];
  const log = new RecordWriter({
    client,
    table: 't',
    logger: { error: (_m: unknown, ...extra: unknown[]) => void logged.push(extra[0] as Record<string, unknown>) },
    breaker,
  });
  return { log, logged, indices: () => logged.map((l) => (l.predictionLogFallback as { index: number }).index) };
};

describe('RecordWriter', () => {
  it('sends companion items (the result cache) in the same BatchWrite, and drops them, not the records, when refused', async () => {
    const sent: Array<Record<string, number>> = [];
    let refuse = false;
    const client = {
      send: async (command: { input: { RequestItems: Record<string, unknown[]> } }) => {
        sent.push(Object.fromEntries(Object.entries(command.input.RequestItems).map(([t, r]) => [t, r.length])));
        if (refuse && 'cache' in command.input.RequestItems) throw new Error('ValidationException: item too large');
        return {};
      },
    } as unknown as DynamoDBDocumentClient;
    const logged: unknown[] = [];
    const log = new RecordWriter({
      client,
      table: 't',
      logger: { error: (...args: unknown[]) => void logged.push(args) },
    });

    await log.write([item(0)], { table: 'cache', items: [{ cacheKey: 'a' }, { cacheKey: 'b' }] });
    refuse = true;
    await log.write([item(1)], { table: 'cache', items: [{ cacheKey: 'c' }] });
    await log.write(items(25));

    expect(sent[0]).toEqual({ t: 1, cache: 2 });
    expect(sent.slice(1, 3)).toEqual([{ t: 1, cache: 1 }, { t: 1 }]);
    expect(sent[3]).toEqual({ t: 25 });
    expect(logged).toEqual([]);
  });

  it('writes a batch in chunks of 25 with keys and TTL', async () => {
    const { client, calls } = fakeClient(() => ({}));
    const { log } = logOn(client);

    await log.write(items(30));

    expect(calls.map((c) => c.length)).toEqual([25, 5]);
    expect(toItem(record(3), 1)).toMatchObject({
      pk: 'predict#m#2026-11-22',
      sk: '2026-11-22T10:00:00.000Z#r1#00003',
      expiresAt: Date.parse('2026-11-22T10:00:00.000Z') / 1000 + 86_400,
    });
  });

  it('retries unprocessed items, then logs what DynamoDB refused so nothing is lost', async () => {
    const { client, calls } = fakeClient((items) => ({
      UnprocessedItems: { t: items.slice(1).map((Item) => ({ PutRequest: { Item } })) },
    }));
    const { log, logged } = logOn(client);

    expect(await log.write(items(3))).toBe(0);

    expect(calls.map((c) => c.length)).toEqual([3, 2, 1]);
    expect(log.fallbacks).toBe(0);
    expect(logged).toHaveLength(0);
  });

  it('falls back to a structured log line per record when writes keep failing', async () => {
    const { client } = fakeClient(() => {
      throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
    });
    const { log, logged, indices } = logOn(client);

    expect(await log.write(items(2))).toBe(2);

    expect(log.fallbacks).toBe(2);
    expect(indices()).toEqual([0, 1]);
    expect(logged[0]).toMatchObject({ table: 't', reason: 'throttled' });
  });

  it('writes straight to the fallback line for a while after a call timed out, then calls again', async () => {
    let now = 0;
    const { client, calls } = fakeClient(() => {
      throw Object.assign(new Error('no answer in 2000 ms'), { name: 'TimeoutError' });
    });
    const { log, logged, indices } = logOn(client, new Breaker({ openMs: 10_000, now: () => now }));

    await log.write([item(0)]);
    await log.write([item(1)]);
    now = 10_000;
    await log.write([item(2)]);

    expect(calls).toHaveLength(2);
    expect(indices()).toEqual([0, 1, 2]);
    expect(logged[1]!.reason).toMatch(/^not called: DynamoDB timed out/);
  });

  it('keeps calling after a reset connection (the SDK names it TimeoutError too): it fails fast', async () => {
    const { client, calls } = fakeClient(() => {
      throw Object.assign(new Error('read ECONNRESET'), { name: 'TimeoutError', code: 'ECONNRESET' });
    });
    const { log } = logOn(client, new Breaker({ openMs: 10_000 }));

    await log.write([item(0)]);
    await log.write([item(1)]);

    expect(calls).toHaveLength(2);
    expect(log.fallbacks).toBe(2);
  });
});

describe('RecordWriter.applyCounters', () => {
  it('ADDs every counter of an update, at most 100 a call, and sends a refused call to counterFallback', async () => {
    const inputs: Array<{
      Key: unknown;
      UpdateExpression: string;
      ExpressionAttributeNames: Record<string, string>;
      ExpressionAttributeValues: Record<string, number>;
    }> = [];
    const client = {
      send: async (command: { input: (typeof inputs)[number] }) => {
        inputs.push(command.input);
        if (inputs.length === 3) throw new Error('ProvisionedThroughputExceededException');
        return {};
      },
    } as unknown as DynamoDBDocumentClient;
    const { log, logged } = logOn(client);
    const add = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`ok#label#L${i}`, i + 1]));

    const out = await log.applyCounters([
      { pk: 'counters#predict#m#2026-11-22', sk: 'all#2026-11-22T10', add },
      { pk: 'counters#predict#m#2026-11-22', sk: 'key.k#2026-11-22T10', add: { 'ok#total': 2 } },
    ]);

    expect(out).toEqual({ applied: 2, refused: 1 });
    expect(inputs.map((i) => Object.keys(i.ExpressionAttributeNames).length)).toEqual([100, 50, 1]);
    const sent = Object.fromEntries(
      inputs
        .slice(0, 2)
        .flatMap((i) =>
          Object.entries(i.ExpressionAttributeNames).map(([ph, name]) => [
            name,
            i.ExpressionAttributeValues[`:${ph.slice(1)}`],
          ]),
        ),
    );
    expect(sent).toEqual(add);
    expect(inputs[0]!.UpdateExpression).toMatch(/^ADD #c0 :c0, #c1 :c1/);
    expect(inputs[0]!.Key).toEqual({ pk: 'counters#predict#m#2026-11-22', sk: 'all#2026-11-22T10' });
    expect(logged).toEqual([
      expect.objectContaining({ counterFallback: expect.objectContaining({ sk: 'key.k#2026-11-22T10' }) }),
    ]);
  });
});
