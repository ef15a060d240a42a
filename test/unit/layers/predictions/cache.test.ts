import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoResultStore } from '#predictions/cache.ts';
import { answer } from '../../../helpers/classification.ts';

describe('DynamoResultStore', () => {
  const NOW = Date.parse('2026-11-22T10:00:00Z');

  it('writes items with a TTL and skips expired ones on read (DynamoDB deletes lazily)', async () => {
    const items: Record<string, unknown>[] = [];
    const client = {
      send: async (command: unknown) => {
        if (command instanceof BatchWriteCommand) {
          for (const r of Object.values(command.input.RequestItems!)[0]!) items.push(r.PutRequest!.Item!);
          return {};
        }
        if (command instanceof BatchGetCommand) {
          const keys = Object.values(command.input.RequestItems!)[0]!.Keys!.map((k) => k.cacheKey);
          return { Responses: { cache: items.filter((i) => keys.includes(i.cacheKey)) } };
        }
        throw new Error('unexpected command');
      },
    } as unknown as DynamoDBDocumentClient;
    let now = NOW;
    const store = new DynamoResultStore({ client, table: 'cache', ttlSeconds: 60, now: () => now });

    await store.putMany([['k', answer('POSITIVE', 0.8)]]);
    const fresh = await store.getMany(['k', 'missing']);
    now = NOW + 61_000;
    const stale = await store.getMany(['k']);

    expect(items[0]).toMatchObject({ cacheKey: 'k', expiresAt: NOW / 1000 + 60 });
    expect(fresh.get('k')).toEqual(answer('POSITIVE', 0.8));
    expect(fresh.has('missing')).toBe(false);
    expect(stale.size).toBe(0);
  });
});
